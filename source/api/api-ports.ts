/**
 * The ports the REST API's handlers (and the faces mounted beside them) work over: the stores,
 * the controller's audit log, its client identity (followed across rotations), discovery, live
 * runs, metrics, and the signal that the server is stopping. Opened once per server.
 */
import {openControllerAudit, readControllerSettings} from '../audit/controller-log.js';
import {openSpool, spoolPath} from '../audit/syslog-spool.js';
import {createDiscoveryCache} from '../core/discovery-cache.js';
import {openControllerRegistry} from '../home.js';
import {tailAuditLog} from '../metrics/audit-tail.js';
import {createControllerMetrics} from '../metrics/controller-metrics.js';
import {openTokenStore} from '../policy/token-store.js';
import {revokedSerials} from '../registry/model.js';
import type {FastifyRequest} from 'fastify';
import type {RunEvent} from '../run/events.js';
import {currentControllerClient, type ControllerClients} from './controller-client.js';
import {openRequestRecords} from './request-records.js';
import type {ApiPorts, ExtraPaths} from './route-file.js';
import {allRoutes, routeFiles} from './routes.js';
import {createLiveRuns} from './run-events.js';
import type {ApiServerOptions, SharedPorts} from './server-options.js';

export type OpenedPorts = {
	ports: ApiPorts;
	/** What a mounted face shares with the REST API. */
	shared: SharedPorts;
	client: ControllerClients;
	stopping: AbortController;
	/** Counts a failed TLS handshake by its error code. */
	handshakeFailed: (code: string) => void;
};

export function openApiPorts(options: ApiServerOptions, extras: {now: () => Date; log: (line: string) => void; checkEvent: (event: RunEvent) => string | undefined; extraHeaders: (request: FastifyRequest) => Record<string, string>}): OpenedPorts {
	const {paths} = options;
	const {now, log} = extras;
	const registry = openControllerRegistry(paths);
	const tokenStore = openTokenStore(paths.home);
	const audit = openControllerAudit(paths);
	const client = currentControllerClient(paths, options.client);
	const stopping = new AbortController();
	const syslog = readControllerSettings(paths).syslogSettings;
	const metrics = createControllerMetrics({
		agents: async () => (await registry.read()).agents,
		spool: () => (syslog ? openSpool(spoolPath(paths.auditLog), syslog.spoolBytes).status() : undefined),
		now,
	});
	const auditTail = tailAuditLog(paths.auditLog);
	const ports: ApiPorts = {
		paths,
		registry,
		tokens: async () => (await tokenStore.read()).tokens,
		audit,
		// Read at each use: a server that runs for months must follow a controller rotation.
		get clientContext() {
			return client().context;
		},
		get controllerSerial() {
			return client().serial;
		},
		discovery: createDiscoveryCache(() => client().context, {revoked: async () => revokedSerials(await registry.read())}),
		discoveryMaxAgeMs: options.discoveryMaxAgeMs ?? 10_000,
		requestRecords: openRequestRecords(paths.auditLog),
		live: createLiveRuns(),
		stopping: stopping.signal,
		running: new Set(),
		checkEvent: extras.checkEvent,
		extraHeaders: extras.extraHeaders,
		async metrics() {
			for (const record of auditTail.read()) {
				metrics.observe(record);
			}

			return {contentType: metrics.registry.contentType, text: await metrics.text()};
		},
		published: {
			routes: allRoutes,
			extraPaths: () => Object.assign({}, ...routeFiles.map(file => file.extraPaths?.(ports) ?? {})) as ExtraPaths,
		},
		version: options.version ?? '0.1.0',
		now,
		log,
		...(options.heartbeatMs ? {heartbeatMs: options.heartbeatMs} : {}),
	};
	const shared: SharedPorts = {
		paths,
		registry,
		audit,
		tokens: ports.tokens,
		context: () => client().context,
		controllerSerial: () => client().serial,
		discovery: ports.discovery,
		discoveryMaxAgeMs: ports.discoveryMaxAgeMs,
		stopping: stopping.signal,
		version: ports.version,
		now,
		log,
	};
	return {ports, shared, client, stopping, handshakeFailed: code => metrics.handshakeFailed(code)};
}
