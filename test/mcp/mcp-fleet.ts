/**
 * A real fleet for the MCP face: agent processes with allowlists, a policy hook and tags, a
 * controller home with tokens, `xi-exec serve` (for /mcp) in this process, and the SDK's own
 * `Client` connected over stdio (a real `xi-exec mcp` process) or Streamable HTTP.
 */
import {readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {Client} from '@modelcontextprotocol/sdk/client/index.js';
import {StdioClientTransport} from '@modelcontextprotocol/sdk/client/stdio.js';
import {StreamableHTTPClientTransport} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {request as httpsRequest} from 'node:https';
import {Readable} from 'node:stream';
import {allowScript} from '../../agent/commands.js';
import {agentPaths} from '../../agent/home.js';
import {createApiServer, type ApiServer} from '../../source/api/server.js';
import {tokenCreate} from '../../source/commands/token.js';
import {mcpRoute} from '../../source/mcp/http.js';
import {readMcpSettings} from '../../source/mcp/settings.js';
import {controllerPaths, loadControllerCredentials, loadServerCredentials, type ControllerPaths} from '../../source/home.js';
import {controllerCli, createController, enrolAgent, freePort, installScript, repoRoot, startAgent, type RunningAgent, type TestAgent} from '../helpers/fleet.js';

export type ScriptSpec = {body: string; description?: string; schema?: unknown; confirm?: boolean; readOnly?: boolean; timeout?: number};
export type AgentSpec = {name: string; tags?: string[]; scripts: Record<string, ScriptSpec>; policy?: unknown};

export type McpFleet = {
	home: string;
	paths: ControllerPaths;
	agents: Array<TestAgent & {running: RunningAgent}>;
	server: ApiServer;
	port: number;
	ca: string;
	close: () => Promise<void>;
};

export const localPolicyHook = join(repoRoot, 'dist/agent/hooks/local-policy.js');

export async function startMcpFleet(specs: AgentSpec[], settings: Record<string, unknown> = {}): Promise<McpFleet> {
	const home = await createController();
	const paths = controllerPaths(home);
	writeFileSync(paths.config, JSON.stringify({mcp: {pollSeconds: 1, ...settings}}));
	const agents: McpFleet['agents'] = [];
	for (const spec of specs) {
		const agent = await enrolAgent(home, {name: spec.name, port: freePort(), ...(spec.tags ? {tags: spec.tags} : {})});
		const agentHome = agentPaths(agent.home);
		for (const [script, entry] of Object.entries(spec.scripts)) {
			allowScript(agentHome, script, installScript(script, entry.body), {
				description: entry.description ?? `test script ${script}`,
				...(entry.schema === undefined ? {} : {schema: JSON.stringify(entry.schema)}),
				...(entry.confirm ? {confirm: true} : {}),
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
		server = await createApiServer({paths, server: loadServerCredentials(paths), client: loadControllerCredentials(paths), discoveryMaxAgeMs: 0, log: () => undefined, mounts: [mcpRoute(readMcpSettings(paths))]});
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

export async function createToken(paths: ControllerPaths, name: string, scripts: string[], on: string[]): Promise<string> {
	let out = '';
	await tokenCreate(paths, {name, scripts: scripts.join(','), on, json: true}, {stdout: text => (out += text), stderr: () => undefined, onInterrupt: () => undefined});
	return (JSON.parse(out) as {token: string}).token;
}

export type Transport = 'stdio' | 'http';

export type Connected = {client: Client; stderr: () => string; close: () => Promise<void>};

/** The SDK's Client, connected to `xi-exec mcp` (a child process) or to /mcp on the fleet's server. */
export async function connect(fleet: McpFleet, token: string, transport: Transport, options: {name?: string; onListChanged?: () => void} = {}): Promise<Connected> {
	const client = new Client({name: options.name ?? 'xi-exec-test-client', version: '9.9.9'}, {capabilities: {}});
	if (options.onListChanged) {
		const {ToolListChangedNotificationSchema} = await import('@modelcontextprotocol/sdk/types.js');
		client.setNotificationHandler(ToolListChangedNotificationSchema, () => options.onListChanged!());
	}

	let stderr = '';
	if (transport === 'stdio') {
		const stdio = new StdioClientTransport({
			command: process.execPath,
			args: [controllerCli, 'mcp'],
			env: {PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/root', XI_EXEC_HOME: fleet.home, XI_EXEC_TOKEN: token},
			stderr: 'pipe',
		});
		stdio.stderr?.on('data', (chunk: Buffer) => {
			stderr += chunk.toString();
		});
		await client.connect(stdio);
	} else {
		const http = new StreamableHTTPClientTransport(new URL(`https://127.0.0.1:${fleet.port}/mcp`), {
			requestInit: {headers: {authorization: `Bearer ${token}`}},
			fetch: httpsFetch(fleet.ca),
		});
		await client.connect(http);
	}

	return {client, stderr: () => stderr, close: async () => client.close()};
}

/** A fetch that trusts only the fleet CA (Node's own fetch cannot be given a CA), streaming the answer. */
export function httpsFetch(ca: string): (url: string | URL, init?: RequestInit) => Promise<Response> {
	return async (url, init = {}) => new Promise((resolve, reject) => {
		const headers: Record<string, string> = {};
		new Headers(init.headers).forEach((value, name) => {
			headers[name] = value;
		});
		const request = httpsRequest(new URL(String(url)), {method: init.method ?? 'GET', ca: [ca], agent: false, headers}, response => {
			const answerHeaders = new Headers();
			for (const [name, value] of Object.entries(response.headers)) {
				if (value !== undefined) {
					answerHeaders.set(name, Array.isArray(value) ? value.join(', ') : value);
				}
			}

			const status = response.statusCode ?? 0;
			const body = status === 204 || status === 304 ? null : Readable.toWeb(response) as ReadableStream<Uint8Array>;
			resolve(new Response(body, {status, headers: answerHeaders}));
		});
		request.on('error', reject);
		init.signal?.addEventListener('abort', () => request.destroy(new Error('aborted')), {once: true});
		request.end(typeof init.body === 'string' ? init.body : undefined);
	});
}
