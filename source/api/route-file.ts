/**
 * The shape of a route file (`source/api/NAME-routes.ts`): its routes (method, path, access,
 * schemas) and a factory of their handlers over the server's ports. The server registers every
 * route file listed in `routes.ts`; each route's handler is found by its operationId.
 */
import type {ClientContext} from '../dispatch/agent-connection.js';
import type {FastifyReply, FastifyRequest} from 'fastify';
import type {AuditLog} from '../audit/file-log.js';
import type {DiscoveryCache} from '../core/discovery-cache.js';
import type {ControllerPaths} from '../home.js';
import type {TokenRecord} from '../policy/tokens.js';
import type {RegistryStore} from '../registry/store.js';
import type {RunEvent} from '../run/events.js';
import type {Caller} from './auth.js';
import type {RequestRecords} from './request-records.js';
import type {RouteSpec} from './route-spec.js';
import type {LiveRuns} from './run-events.js';

/** Paths (OpenAPI path items) a route file adds to /openapi.json beyond its fixed routes (one per runbook). */
export type ExtraPaths = Record<string, Record<string, unknown>>;

export type ApiPorts = {
	paths: ControllerPaths;
	registry: RegistryStore;
	tokens: () => Promise<readonly TokenRecord[]>;
	audit: AuditLog;
	clientContext: ClientContext;
	controllerSerial: string;
	discovery: DiscoveryCache;
	discoveryMaxAgeMs: number;
	requestRecords: RequestRecords;
	live: LiveRuns;
	/** Aborted when the server stops: runs still going are cancelled on every agent. */
	stopping: AbortSignal;
	/** Runs still going, so the server can wait for their records when it stops. */
	running: Set<Promise<unknown>>;
	/** Checks one Server-Sent Event's data against the published RunEvent schema. */
	checkEvent: (event: RunEvent) => string | undefined;
	/** Headers every response carries (CORS), for streams written outside Fastify's reply. */
	extraHeaders: (request: FastifyRequest) => Record<string, string>;
	/** The controller's Prometheus metrics, read at each scrape. */
	metrics: () => Promise<{contentType: string; text: string}>;
	/** What /openapi.json publishes: every registered route, and the paths route files add. */
	published: {routes: readonly RouteSpec[]; extraPaths: () => ExtraPaths};
	version: string;
	now: () => Date;
	log: (line: string) => void;
	/** How often an idle event stream gets a comment line (default 15 s), so proxies do not cut it. */
	heartbeatMs?: number;
};

export type Handler = (request: FastifyRequest, reply: FastifyReply, caller: Caller) => Promise<unknown>;

export type RouteFile = {
	routes: readonly RouteSpec[];
	/** A handler for each route, by operationId. */
	handlers: (ports: ApiPorts) => Record<string, Handler>;
	extraPaths?: (ports: ApiPorts) => ExtraPaths;
};
