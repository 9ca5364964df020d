/**
 * `xi-exec mcp [--token-file FILE]`: the MCP face over stdio, for an AI platform that starts it
 * as a subprocess. It refuses to start without a token (XI_EXEC_TOKEN or --token-file) or with
 * one that is unknown, revoked or expired: an AI agent is always a named, scoped caller. Stdout
 * carries the protocol only; notes go to stderr. It runs until the client closes stdin (or
 * SIGTERM), then cancels runs still going and waits for their records.
 */
import {X509Certificate} from 'node:crypto';
import {StdioServerTransport} from '@modelcontextprotocol/sdk/server/stdio.js';
import {openControllerAudit} from '../audit/controller-log.js';
import {createDiscoveryCache} from '../core/discovery-cache.js';
import {createClientContext} from '../dispatch/agent-connection.js';
import {XiError} from '../errors.js';
import {loadControllerCredentials, openControllerRegistry, type ControllerPaths} from '../home.js';
import {pollFleet} from './poll-fleet.js';
import {createMcpSession, type LiveRun} from './session.js';
import {readMcpSettings} from './settings.js';
import {createSharedCallLimiter} from './shared-call-limiter.js';
import {normaliseSerial} from '../pki/fingerprints.js';
import {openTokenStore} from '../policy/token-store.js';
import {authenticateToken, scopeOf} from '../policy/tokens.js';
import {revokedSerials} from '../registry/model.js';

export type McpInput = {token: string | undefined; version: string};

/** Where notes go (stderr: stdout carries the protocol) and how Ctrl-C is heard. */
export type StdioIo = {stderr: (text: string) => void; onInterrupt: (handler: () => void) => void};

export async function serveMcpOverStdio(paths: ControllerPaths, input: McpInput, io: StdioIo): Promise<number> {
	if (input.token === undefined) {
		throw new XiError('TOKEN_INVALID', 'xi-exec mcp needs a token, so that an AI agent is always a named, scoped caller: create one with `xi-exec token create --name NAME --scripts ... --on ...` and pass it as XI_EXEC_TOKEN or --token-file FILE.');
	}

	const tokens = openTokenStore(paths.home);
	const check = authenticateToken((await tokens.read()).tokens, input.token, new Date());
	if (!check.ok) {
		throw new XiError('TOKEN_INVALID', `Token refused: ${check.reason}; xi-exec mcp does not start without a valid token.`);
	}

	const settings = readMcpSettings(paths);
	const credentials = loadControllerCredentials(paths);
	const context = createClientContext(credentials);
	const serial = normaliseSerial(new X509Certificate(credentials.cert).serialNumber);
	const registry = openControllerRegistry(paths);
	const audit = openControllerAudit(paths);
	const stopping = new AbortController();
	const log = (line: string) => io.stderr(`xi-exec mcp: ${line}\n`);
	const session = createMcpSession({
		paths,
		registry,
		audit,
		context: () => context,
		controllerSerial: () => serial,
		discovery: createDiscoveryCache(context, {revoked: async () => revokedSerials(await registry.read())}),
		discoveryMaxAgeMs: 5000,
		tokens: async () => (await tokens.read()).tokens,
		limiter: createSharedCallLimiter(paths.home, settings.limits, Date.now),
		maxOutputBytes: settings.limits.maxOutputBytes,
		live: new Map<string, LiveRun>(),
		stopping: stopping.signal,
		version: input.version,
		now: () => new Date(),
		log,
	}, {token: input.token, transport: 'stdio'}, scopeOf(check.token));

	const transport = new StdioServerTransport();
	const closed = new Promise<void>(resolve => {
		transport.onclose = resolve;
		process.stdin.once('end', resolve);
		process.once('SIGTERM', resolve);
		io.onInterrupt(resolve);
	});
	await session.server.connect(transport);
	const poller = pollFleet(() => [session], settings.pollSeconds, log);
	await closed;
	poller.stop();
	stopping.abort();
	// Runs still going are cancelled (stopping); their records are written before the log closes.
	await session.settled();
	await session.server.close().catch(() => undefined);
	await context.close();
	await audit.close();
	return 0;
}
