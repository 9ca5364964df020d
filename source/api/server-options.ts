/** What the REST API server is given and what it answers (server.ts builds it). */
import type {IncomingMessage, ServerResponse} from 'node:http';
import type {FastifyInstance} from 'fastify';
import type {AuditLog} from '../audit/file-log.js';
import type {DiscoveryCache} from '../core/discovery-cache.js';
import type {ClientContext} from '../dispatch/agent-connection.js';
import type {ControllerPaths} from '../home.js';
import type {TlsCredentials} from '../pki/credentials.js';
import type {TokenRecord, TokenScope} from '../policy/tokens.js';
import type {RegistryStore} from '../registry/store.js';

export type ApiTlsVersion = 'TLSv1.2' | 'TLSv1.3';

export type ApiServerOptions = {
	paths: ControllerPaths;
	/** The fleet server certificate (xi-exec:server), its key and the fleet CA. */
	server: TlsCredentials;
	/** An operator's certificate for the REST API; agents' policy calls still get `server`. */
	apiCertificate?: {key: string; cert: string};
	/** The controller's own identity, for dialling agents. */
	client: TlsCredentials;
	/** Origins allowed to call from a browser (CORS); none unless listed. */
	corsOrigins?: readonly string[];
	/** How old a discovery answer may be for /openapi.json and the per-script route. */
	discoveryMaxAgeMs?: number;
	version?: string;
	/** The lowest TLS version offered (default TLS 1.3; see tlsSettings). */
	tlsMinVersion?: ApiTlsVersion;
	/** How long a TLS handshake, and then the first request's headers, may take (default 10 s each). */
	deadlines?: {handshakeMs: number; headersMs: number};
	now?: () => Date;
	log?: (line: string) => void;
	/** Whether GET /metrics needs a token (default true). */
	metricsToken?: boolean;
	/** Gets one JSON line per answered request (the access log); none by default. */
	accessLog?: (line: string) => void;
	/** How often an idle event stream gets a heartbeat comment (default 15 s). */
	heartbeatMs?: number;
	/** Other faces served behind the same authentication (`/mcp`), each made from the server's shared ports. */
	mounts?: ReadonlyArray<(shared: SharedPorts) => MountedRoute>;
};

/** What a mounted face shares with the REST API: the same stores, audit log, discovery and client identity. */
export type SharedPorts = {
	paths: ControllerPaths;
	registry: RegistryStore;
	audit: AuditLog;
	tokens: () => Promise<readonly TokenRecord[]>;
	context: () => ClientContext;
	controllerSerial: () => string;
	discovery: DiscoveryCache;
	discoveryMaxAgeMs: number;
	stopping: AbortSignal;
	version: string;
	now: () => Date;
	log: (line: string) => void;
};

/**
 * A face mounted on the server: its methods at one path, reached only after the global
 * authentication found a bearer token (`token` access). `handle` may throw an XiError before it
 * takes the response over (`takeOver`), and the server answers it like any error.
 */
export type MountedRoute = {
	url: string;
	methods: ReadonlyArray<'GET' | 'POST' | 'DELETE'>;
	handle: (request: IncomingMessage, response: ServerResponse, body: unknown, caller: {token: string; scope: TokenScope; source: string}, takeOver: () => void) => Promise<void>;
	close: () => Promise<void>;
};

export type ApiServer = {
	app: FastifyInstance;
	/** Every registered route, as Fastify registered it. */
	routes: ReadonlyArray<{method: string; url: string}>;
	listen: (host: string, port: number) => Promise<{host: string; port: number}>;
	/** Cancels runs still going (and waits for their records), then closes the listener and the audit log. */
	close: () => Promise<void>;
};
