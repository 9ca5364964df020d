/* eslint-disable @typescript-eslint/no-explicit-any -- the tests read JSON answers loosely, as a client would. */
/**
 * A real REST API server over HTTPS on 127.0.0.1, in front of real agents (real processes, from
 * test/helpers/fleet.ts), and a small HTTPS client that trusts only the fleet CA.
 */
import {readFileSync, writeFileSync} from 'node:fs';
import {request as httpsRequest} from 'node:https';
import {join} from 'node:path';
import type {IncomingHttpHeaders} from 'node:http';
import {allowScript} from '../../agent/commands.js';
import {agentPaths} from '../../agent/home.js';
import {createApiServer, type ApiServer, type ApiServerOptions} from '../../source/api/server.js';
import {tokenCreate} from '../../source/commands/token.js';
import {mcpRoute} from '../../source/mcp/http.js';
import {readMcpSettings} from '../../source/mcp/settings.js';
import {controllerPaths, loadControllerCredentials, loadServerCredentials, type ControllerPaths} from '../../source/home.js';
import {createController, enrolAgent, freePort, installScript, repoRoot, startAgent, type RunningAgent, type TestAgent} from '../helpers/fleet.js';

export type ScriptSpec = {body: string; description?: string; schema?: unknown; confirm?: boolean; maxTargets?: number; readOnly?: boolean; timeout?: number};
/** An agent of the fleet; with `policy`, that policy.json and the reference hook in front of its scripts. */
export type AgentSpec = {name: string; tags?: string[]; scripts?: Record<string, ScriptSpec>; policy?: unknown};

export const localPolicyHook = join(repoRoot, 'dist/agent/hooks/local-policy.js');

export type ApiFleet = {
	home: string;
	paths: ControllerPaths;
	agents: Array<TestAgent & {running: RunningAgent}>;
	server: ApiServer;
	port: number;
	ca: string;
	close: () => Promise<void>;
};

/** `controllerConfig` is written to the controller's config.json before the server starts. */
export async function startApiFleet(specs: AgentSpec[], options: Partial<ApiServerOptions> = {}, controllerConfig?: Record<string, unknown>): Promise<ApiFleet> {
	const home = await createController();
	const paths = controllerPaths(home);
	if (controllerConfig) {
		writeFileSync(paths.config, JSON.stringify(controllerConfig));
	}

	const agents: ApiFleet['agents'] = [];
	for (const spec of specs) {
		const agent = await enrolAgent(home, {name: spec.name, port: freePort(), ...(spec.tags ? {tags: spec.tags} : {})});
		const agentHome = agentPaths(agent.home);
		for (const [script, entry] of Object.entries(spec.scripts ?? {})) {
			allowScript(agentHome, script, installScript(script, entry.body), {
				description: entry.description ?? `test script ${script}`,
				...(entry.schema === undefined ? {} : {schema: JSON.stringify(entry.schema)}),
				...(entry.confirm ? {confirm: true} : {}),
				...(entry.maxTargets === undefined ? {} : {maxTargets: entry.maxTargets}),
				...(entry.readOnly ? {readOnly: true} : {}),
				...(entry.timeout ? {timeout: entry.timeout} : {}),
			});
		}

		if (spec.policy !== undefined) {
			writeFileSync(join(agent.home, 'policy.json'), JSON.stringify(spec.policy));
			const config = JSON.parse(readFileSync(agentHome.config, 'utf8')) as Record<string, unknown>;
			writeFileSync(agentHome.config, JSON.stringify({...config, hook: localPolicyHook, hookInterpreter: process.execPath}));
		}

		agents.push({...agent, running: await startAgent(agent)});
	}

	let server: ApiServer;
	let port: number;
	try {
		server = await createApiServer({
			paths,
			server: loadServerCredentials(paths),
			client: loadControllerCredentials(paths),
			discoveryMaxAgeMs: 0,
			log: () => undefined,
			mounts: [mcpRoute(readMcpSettings(paths))],
			...options,
		});
		({port} = await server.listen('127.0.0.1', 0));
	} catch (error) {
		await Promise.all(agents.map(async agent => agent.running.stop()));
		throw error;
	}

	return {
		home,
		paths,
		agents,
		server,
		port,
		ca: loadServerCredentials(paths).ca,
		async close() {
			await server.close();
			await Promise.all(agents.map(async agent => agent.running.stop()));
		},
	};
}

export async function createToken(paths: ControllerPaths, name: string, scripts: string[], on: string[], expires?: string): Promise<{token: string; id: string}> {
	let out = '';
	await tokenCreate(paths, {name, scripts: scripts.join(','), on, ...(expires ? {expires} : {}), json: true}, {stdout: text => (out += text), stderr: () => undefined, onInterrupt: () => undefined});
	return JSON.parse(out) as {token: string; id: string};
}

export type Answer = {status: number; headers: IncomingHttpHeaders; text: string; json: () => any};

export type CallOptions = {
	token?: string;
	body?: unknown;
	/** Sent as is, instead of JSON. */
	rawBody?: string;
	headers?: Record<string, string>;
	/** A client certificate (the policy endpoint). */
	key?: string;
	cert?: string;
	servername?: string;
	/** Told the body so far each time more of it arrives (a streamed answer). */
	onData?: (textSoFar: string) => void;
};

export function call(fleet: {port: number; ca: string}, method: string, path: string, options: CallOptions = {}): Promise<Answer> {
	const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
	return new Promise((resolve, reject) => {
		const request = httpsRequest({
			host: '127.0.0.1',
			port: fleet.port,
			method,
			path,
			agent: false,
			ca: [fleet.ca],
			...(options.key ? {key: options.key, cert: options.cert} : {}),
			...(options.servername ? {servername: options.servername, checkServerIdentity: () => undefined} : {}),
			headers: {
				...(options.token === undefined ? {} : {authorization: `Bearer ${options.token}`}),
				...(body === undefined || options.rawBody !== undefined ? {} : {'content-type': 'application/json'}),
				...(body === undefined ? {} : {'content-length': String(Buffer.byteLength(body))}),
				...options.headers,
			},
		}, response => {
			let text = '';
			response.setEncoding('utf8');
			response.on('data', (chunk: string) => {
				text += chunk;
				options.onData?.(text);
			});
			response.on('end', () => {
				resolve({status: response.statusCode ?? 0, headers: response.headers, text, json: () => JSON.parse(text)});
			});
		});
		request.on('error', reject);
		request.end(body);
	});
}

export {loadControllerCredentials, loadServerCredentials};

export type SseMessage = {id?: string; event?: string; data: string};

/**
 * Follows a Server-Sent Events stream until the server ends it, handing each message to
 * `onMessage` as it arrives; when `onMessage` answers 'stop', the client hangs up there (as a
 * dropped connection would) and the messages so far are the result.
 */
export function followEvents(fleet: {port: number; ca: string}, path: string, token: string, onMessage: (message: SseMessage) => unknown = () => undefined, headers: Record<string, string> = {}): Promise<{status: number; headers: IncomingHttpHeaders; messages: SseMessage[]; text: string}> {
	return new Promise((resolve, reject) => {
		const request = httpsRequest({host: '127.0.0.1', port: fleet.port, path, method: 'GET', agent: false, ca: [fleet.ca], headers: {authorization: `Bearer ${token}`, accept: 'text/event-stream', ...headers}}, response => {
			const messages: SseMessage[] = [];
			let buffer = '';
			let text = '';
			response.setEncoding('utf8');
			response.on('data', (chunk: string) => {
				text += chunk;
				buffer += chunk;
				let end: number;
				while ((end = buffer.indexOf('\n\n')) !== -1) {
					const block = buffer.slice(0, end);
					buffer = buffer.slice(end + 2);
					const message: SseMessage = {data: ''};
					let isMessage = false;
					for (const line of block.split('\n')) {
						const colon = line.indexOf(':');
						if (colon === 0) {
							continue; // A comment (keep-alive).
						}

						const field = line.slice(0, colon);
						const value = line.slice(colon + 1).replace(/^ /, '');
						isMessage = true;
						if (field === 'data') {
							message.data += value;
						} else if (field === 'id' || field === 'event') {
							message[field] = value;
						}
					}

					if (isMessage) {
						messages.push(message);
						if (onMessage(message) === 'stop') {
							request.destroy();
							resolve({status: response.statusCode ?? 0, headers: response.headers, messages, text});
							return;
						}
					}
				}
			});
			response.on('end', () => {
				resolve({status: response.statusCode ?? 0, headers: response.headers, messages, text});
			});
		});
		request.on('error', error => {
			if (!request.destroyed || (error as NodeJS.ErrnoException).code !== 'ECONNRESET') {
				reject(error);
			}
		});
		request.end();
	});
}

/** Polls an async probe until it returns a value; a safety net against hangs, not a timed assertion. */
export async function eventually<T>(probe: () => Promise<T | undefined>, what: string, giveUpMs = 60_000): Promise<T> {
	const deadline = Date.now() + giveUpMs;
	for (;;) {
		const value = await probe();
		if (value !== undefined) {
			return value;
		}

		if (Date.now() > deadline) {
			throw new Error(`gave up waiting for ${what}`);
		}

		await new Promise(resolve => setTimeout(resolve, 100));
	}
}
