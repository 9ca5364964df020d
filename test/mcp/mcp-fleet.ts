/**
 * A real fleet for the MCP face: agent processes with allowlists, a policy hook and tags, a
 * controller home with tokens, `xi-exec serve` (for /mcp) in this process, and the SDK's own
 * `Client` connected over stdio (a real `xi-exec mcp` process) or Streamable HTTP.
 */
import {Client} from '@modelcontextprotocol/sdk/client/index.js';
import {StdioClientTransport} from '@modelcontextprotocol/sdk/client/stdio.js';
import {StreamableHTTPClientTransport} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {request as httpsRequest} from 'node:https';
import {Readable} from 'node:stream';
import {tokenCreate} from '../../source/commands/token.js';
import type {ControllerPaths} from '../../source/home.js';
import {controllerCli} from '../helpers/fleet.js';
import {startApiFleet, type AgentSpec, type ApiFleet} from '../api/api-fleet.js';

export type {AgentSpec, ScriptSpec} from '../api/api-fleet.js';
export {localPolicyHook} from '../api/api-fleet.js';
export type McpFleet = ApiFleet;

/** The REST API's test fleet with /mcp mounted, polling the fleet every second. */
export async function startMcpFleet(specs: AgentSpec[], settings: Record<string, unknown> = {}): Promise<McpFleet> {
	return startApiFleet(specs, {}, {mcp: {pollSeconds: 1, ...settings}});
}

export async function createToken(paths: ControllerPaths, name: string, scripts: string[], on: string[]): Promise<string> {
	let out = '';
	await tokenCreate(paths, {name, scripts: scripts.join(','), on, json: true}, {stdout: text => (out += text), stderr: () => undefined, onInterrupt: () => undefined});
	return (JSON.parse(out) as {token: string}).token;
}

export type Transport = 'stdio' | 'http';

export type Connected = {client: Client; stderr: () => string; close: () => Promise<void>; /** The `xi-exec mcp` process, over stdio. */ pid?: number};

/** The SDK's Client, connected to `xi-exec mcp` (a child process) or to /mcp on the fleet's server. */
export async function connect(fleet: McpFleet, token: string, transport: Transport, options: {name?: string; onListChanged?: () => void} = {}): Promise<Connected> {
	const client = new Client({name: options.name ?? 'xi-exec-test-client', version: '9.9.9'}, {capabilities: {}});
	if (options.onListChanged) {
		const {ToolListChangedNotificationSchema} = await import('@modelcontextprotocol/sdk/types.js');
		client.setNotificationHandler(ToolListChangedNotificationSchema, () => options.onListChanged!());
	}

	let stderr = '';
	let pid: number | undefined;
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
		pid = stdio.pid ?? undefined;
	} else {
		const http = new StreamableHTTPClientTransport(new URL(`https://127.0.0.1:${fleet.port}/mcp`), {
			requestInit: {headers: {authorization: `Bearer ${token}`}},
			fetch: httpsFetch(fleet.ca),
		});
		await client.connect(http);
	}

	return {client, stderr: () => stderr, close: async () => client.close(), ...(pid === undefined ? {} : {pid})};
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
