/**
 * `/mcp` on `xi-exec serve`: the MCP face over Streamable HTTP (the SDK's transport, one per
 * session). The server's global authentication has already checked the bearer token before a
 * request reaches `handle`; here:
 *
 * - a request carrying an `Origin` header is refused unless that origin is in
 *   `mcp.allowedOrigins` (DNS-rebinding protection: a browser page cannot drive the tools);
 * - a request without `Mcp-Session-Id` must be an `initialize`, which opens a session bound to
 *   the token that opened it; a request naming a session is refused unless it presents that same
 *   token (a token cannot ride another's session), and an unknown session is 404 (the client
 *   initializes again);
 * - at most `maxSessionsPerToken` sessions per token: opening one more closes that token's oldest.
 */
import {randomUUID} from 'node:crypto';
import type {IncomingMessage, ServerResponse} from 'node:http';
import {StreamableHTTPServerTransport} from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {isInitializeRequest} from '@modelcontextprotocol/sdk/types.js';
import {XiError} from '../errors.js';
import type {TokenScope} from '../policy/tokens.js';
import {pollFleet} from './poll-fleet.js';
import {createMcpSession, type McpPorts, type McpSession} from './session.js';
import type {McpSettings} from './settings.js';
import {createSharedCallLimiter} from './shared-call-limiter.js';

export type McpHttpOptions = {allowedOrigins: readonly string[]; pollSeconds: number; maxSessionsPerToken?: number};

/** The ports the server shares with a mounted face (`SharedPorts` of the REST API server, by shape). */
export type McpSharedPorts = Omit<McpPorts, 'limiter' | 'maxOutputBytes' | 'live'>;

export type McpHttpCaller = {token: string; scope: TokenScope; source: string};

export type McpHttp = {
	/** Answers one HTTP request to /mcp; throws an XiError (answered by the server) before anything is written. */
	handle: (request: IncomingMessage, response: ServerResponse, body: unknown, caller: McpHttpCaller, takeOver: () => void) => Promise<void>;
	close: () => Promise<void>;
};

type Entry = {session: McpSession; transport: StreamableHTTPServerTransport; openedAt: number};

export function createMcpHttp(ports: McpPorts, options: McpHttpOptions): McpHttp {
	const allowed = new Set(options.allowedOrigins);
	const maxPerToken = options.maxSessionsPerToken ?? 8;
	const sessions = new Map<string, Entry>();
	const poller = pollFleet(() => [...sessions.values()].map(entry => entry.session), options.pollSeconds, ports.log);

	const forget = (id: string) => {
		sessions.delete(id);
	};

	const open = async (caller: McpHttpCaller): Promise<StreamableHTTPServerTransport> => {
		const mine = [...sessions.entries()].filter(([, entry]) => entry.session.tokenId === caller.scope.id).sort(([, a], [, b]) => a.openedAt - b.openedAt);
		for (const [id, entry] of mine.slice(0, Math.max(0, mine.length - maxPerToken + 1))) {
			forget(id);
			await entry.transport.close().catch(() => undefined);
		}

		const session = createMcpSession(ports, {token: caller.token, transport: 'http', source: caller.source}, caller.scope);
		const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
			sessionIdGenerator: () => randomUUID(),
			onsessioninitialized: id => {
				sessions.set(id, {session, transport, openedAt: Date.now()});
			},
			onsessionclosed: forget,
		});
		transport.onclose = () => {
			if (transport.sessionId) {
				forget(transport.sessionId);
			}
		};

		await session.server.connect(transport);
		return transport;
	};

	return {
		async handle(request, response, body, caller, takeOver) {
			const origin = request.headers.origin;
			if (origin !== undefined && !allowed.has(origin)) {
				throw new XiError('ORIGIN_REFUSED', `Requests to /mcp from the browser origin ${JSON.stringify(origin.slice(0, 200))} are refused: it is not in "mcp.allowedOrigins" in the controller's config.json.`);
			}

			const id = request.headers['mcp-session-id'];
			let transport: StreamableHTTPServerTransport;
			if (id === undefined) {
				if (request.method !== 'POST' || !isInitializeRequest(body)) {
					throw new XiError('USAGE', 'A request to /mcp without an Mcp-Session-Id header must be a POST of an initialize request.');
				}

				transport = await open(caller);
			} else {
				const entry = typeof id === 'string' ? sessions.get(id) : undefined;
				if (!entry) {
					throw new XiError('MCP_SESSION_UNKNOWN', 'No MCP session has that Mcp-Session-Id (it was closed, or the server restarted): initialize a new one.');
				}

				if (entry.session.tokenId !== caller.scope.id) {
					throw new XiError('OUT_OF_SCOPE', 'Refused: this MCP session was opened with another token; a session answers only the token that opened it.');
				}

				transport = entry.transport;
			}

			takeOver();
			await transport.handleRequest(request, response, body);
		},
		async close() {
			poller.stop();
			const open = [...sessions.values()];
			sessions.clear();
			await Promise.allSettled(open.map(async entry => entry.session.settled()));
			await Promise.allSettled(open.map(async entry => entry.transport.close()));
		},
	};
}

/** /mcp as a route mounted on `xi-exec serve`, with the MCP settings (limits per token, origins, polling). */
export function mcpRoute(settings: McpSettings) {
	return (shared: McpSharedPorts) => {
		const mcp = createMcpHttp({...shared, limiter: createSharedCallLimiter(shared.paths.home, settings.limits, Date.now), maxOutputBytes: settings.limits.maxOutputBytes, live: new Map()}, {allowedOrigins: settings.allowedOrigins, pollSeconds: settings.pollSeconds});
		return {url: '/mcp', methods: ['GET', 'POST', 'DELETE'] as const, handle: mcp.handle, close: mcp.close};
	};
}
