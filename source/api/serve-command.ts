/**
 * `xi-exec serve [--listen HOST:PORT] [--cert FILE --key FILE]`: the REST API over HTTPS, with the
 * controller's fleet server certificate (or, for the REST API only, one the operator supplies;
 * the agents' policy calls always get the fleet certificate). Runs until SIGINT or SIGTERM, then
 * cancels runs still going, waits for their records and stops.
 *
 * CORS is off unless config.json lists origins: {"api": {"corsOrigins": ["https://dash.example"]}}.
 * TLS 1.3 only unless config.json says {"api": {"tlsMinVersion": "TLSv1.2"}} (api/server.ts says why).
 * GET /metrics needs a token unless {"api": {"metricsToken": false}}; event streams get a heartbeat
 * every {"api": {"sseHeartbeatMs": 15000}}. Every log line goes to stdout as one JSON object with a
 * level: one access-log line per request (api/access-log.ts), and serve's own (api/serve-log.ts).
 * The MCP face is mounted by the command table (cli/commands/serve.ts), so no face imports another.
 */
import {createApiServer, type ApiServerOptions, type ApiTlsVersion} from './server.js';
import {serveLogLine} from './serve-log.js';
import {XiError} from '../errors.js';
import {formatHostPort, parseHostPort} from '../io/address.js';
import {existsSync, readJsonFile, readTextFile} from '../io/files.js';
import {loadControllerCredentials, loadServerCredentials, openControllerRegistry, type ControllerPaths} from '../home.js';
import {exitInterrupted, type CommandIo} from '../io/command-io.js';

export type ServeInput = {
	listen?: string;
	cert?: string;
	key?: string;
	/** Other faces served behind the same authentication (the command table mounts MCP at /mcp). */
	mounts?: ApiServerOptions['mounts'];
};

export const defaultListen = '127.0.0.1:8443';

export async function serveCommand(paths: ControllerPaths, input: ServeInput, io: CommandIo): Promise<number> {
	const listen = parseHostPort(input.listen ?? defaultListen);
	if (typeof listen === 'string') {
		throw new XiError('USAGE', `--listen ${listen}; for example --listen 127.0.0.1:8443.`);
	}

	if ((input.cert === undefined) !== (input.key === undefined)) {
		throw new XiError('USAGE', '--cert and --key go together: the REST API\'s own certificate and its private key (PEM files).');
	}

	const apiCertificate = input.cert === undefined || input.key === undefined
		? undefined
		: {cert: readTextFile(input.cert, 'the --cert file'), key: readTextFile(input.key, 'the --key file')};
	const server = await createApiServer({
		paths,
		server: loadServerCredentials(paths),
		client: loadControllerCredentials(paths),
		...(apiCertificate ? {apiCertificate} : {}),
		corsOrigins: readCorsOrigins(paths),
		...(input.mounts ? {mounts: input.mounts} : {}),
		tlsMinVersion: readTlsMinVersion(paths),
		...readObservability(paths),
		accessLog: line => io.stdout(`${line}\n`),
		log: line => io.stdout(`${serveLogLine(new Date(), 'error', 'problem', line)}\n`),
	});

	let address: {host: string; port: number};
	try {
		address = await server.listen(listen.host, listen.port);
	} catch (error) {
		await server.close().catch(() => undefined);
		const code = (error as NodeJS.ErrnoException).code;
		throw new XiError('USAGE', `Cannot listen on ${formatHostPort(listen)} (${code ?? (error as Error).message}); choose another --listen.`, {cause: error});
	}

	const presence = await watchRelayPresence(paths, (level, event, message, fields) => io.stdout(`${serveLogLine(new Date(), level, event, message, fields)}\n`));
	const url = `https://${formatHostPort({host: address.host, port: address.port})}`;
	let onTerminate: (() => void) | undefined;
	// Asked for before the "listening" line: a supervisor that signals as soon as it reads it finds
	// the handlers there, not node's default (death without "stopping").
	const stopping = new Promise<{code: number; signal: string}>(resolve => {
		io.onInterrupt(() => resolve({code: exitInterrupted, signal: 'SIGINT'}));
		onTerminate = () => resolve({code: 0, signal: 'SIGTERM'});
		process.on('SIGTERM', onTerminate);
	});
	io.stdout(`${serveLogLine(new Date(), 'info', 'listening', `Listening on ${url} (REST API; the document is ${url}/openapi.json, its page ${url}/docs; MCP at ${url}/mcp)`, {url, openapi: `${url}/openapi.json`, docs: `${url}/docs`, mcp: `${url}/mcp`})}\n`);
	const stopped = await stopping;
	io.stdout(`${serveLogLine(new Date(), 'info', 'stopping', 'Stopping: cancelling runs still going, waiting for their records', {signal: stopped.signal})}\n`);
	await server.close();
	await presence.close();
	// Kept until the stop is done: a second SIGTERM while stopping finds this listener (a no-op), not
	// node's default (death in the middle of the stop), whatever other modules listen.
	process.removeListener('SIGTERM', onTerminate!);
	io.stdout(`${serveLogLine(new Date(), 'info', 'stopped', 'Stopped', {signal: stopped.signal})}\n`);
	return stopped.code;
}

type ServeLog = (level: 'info' | 'error', event: string, message: string, fields?: Record<string, unknown>) => void;

/**
 * Relay agents' signed presence heartbeats, for as long as serve runs (relay/presence-service.ts):
 * one watch per broker the registry's relay agents use, brokers new in the registry picked up
 * within 5 s, and the presence state written beside the registry, so `agents`, the console, the
 * API and MCP show them "seen … via relay" without asking each one. A broker that cannot be
 * reached is logged and tried again, never fatal.
 */
async function watchRelayPresence(paths: ControllerPaths, log: ServeLog): Promise<{close: () => Promise<void>}> {
	const {startPresenceService} = await import('../relay/presence-service.js');
	return startPresenceService({
		credentials: () => loadControllerCredentials(paths),
		registry: openControllerRegistry(paths),
		onRefused: (broker, reason, agent) => log('error', 'relay.presence-refused', `A presence heartbeat was refused: ${reason}`, {broker, ...(agent ? {agent} : {}), reason}),
		onError: (broker, reason) => log('error', 'problem', `Relay presence: ${reason}`, broker ? {broker} : {}),
		onWatching: broker => log('info', 'relay.presence-watching', `Watching relay presence on ${broker}`, {broker}),
	});
}

function readObservability(paths: ControllerPaths): {metricsToken?: boolean; heartbeatMs?: number} {
	if (!existsSync(paths.config)) {
		return {};
	}

	const api = (readJsonFile(paths.config, 'the controller settings') as {api?: {metricsToken?: unknown; sseHeartbeatMs?: unknown}} | null)?.api;
	const {metricsToken, sseHeartbeatMs} = api ?? {};
	if (metricsToken !== undefined && typeof metricsToken !== 'boolean') {
		throw new XiError('CONFIG_INVALID', `"api.metricsToken" in ${paths.config} must be true (GET /metrics needs a token, the default) or false (received ${JSON.stringify(metricsToken)}).`);
	}

	if (sseHeartbeatMs !== undefined && !(typeof sseHeartbeatMs === 'number' && Number.isSafeInteger(sseHeartbeatMs) && sseHeartbeatMs >= 100)) {
		throw new XiError('CONFIG_INVALID', `"api.sseHeartbeatMs" in ${paths.config} must be a whole number of milliseconds of at least 100 (received ${JSON.stringify(sseHeartbeatMs)}).`);
	}

	return {...(metricsToken === undefined ? {} : {metricsToken}), ...(sseHeartbeatMs === undefined ? {} : {heartbeatMs: sseHeartbeatMs})};
}

function readCorsOrigins(paths: ControllerPaths): string[] {
	if (!existsSync(paths.config)) {
		return [];
	}

	const config = readJsonFile(paths.config, 'the controller settings') as {api?: {corsOrigins?: unknown}} | null;
	const origins = config?.api?.corsOrigins;
	if (origins === undefined) {
		return [];
	}

	const valid = Array.isArray(origins) && origins.every(origin => typeof origin === 'string' && /^https?:\/\/[a-z0-9.-]+(?::\d{1,5})?$/i.test(origin));
	if (!valid) {
		throw new XiError('CONFIG_INVALID', `"api.corsOrigins" in ${paths.config} must be a list of origins such as "https://dashboard.example.com" (no path, no wildcard).`);
	}

	return origins as string[];
}

function readTlsMinVersion(paths: ControllerPaths): ApiTlsVersion {
	const config = existsSync(paths.config) ? readJsonFile(paths.config, 'the controller settings') as {api?: {tlsMinVersion?: unknown}} | null : null;
	const version = config?.api?.tlsMinVersion ?? 'TLSv1.3';
	if (version !== 'TLSv1.3' && version !== 'TLSv1.2') {
		throw new XiError('CONFIG_INVALID', `"api.tlsMinVersion" in ${paths.config} must be "TLSv1.3" (the default) or "TLSv1.2" (received ${JSON.stringify(version)}).`);
	}

	return version;
}
