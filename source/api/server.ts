/**
 * The REST API server (Fastify 5 over HTTPS). Registers exactly the routes of the route table,
 * each validated against its schemas (Ajv, JSON Schema 2020-12) for the request and for the
 * answer, behind one global authentication hook. The TLS layer asks every client for a
 * certificate signed by the fleet CA but lets one without through (bearer-token callers have
 * none); the policy route then requires an agent's. With an operator-supplied certificate for
 * the REST API, the agents' policy calls still get the fleet certificate, chosen by the SNI name
 * the policy client sends.
 */
import {constants, randomUUID, X509Certificate} from 'node:crypto';
import {statSync} from 'node:fs';
import type {IncomingMessage, ServerResponse} from 'node:http';
import {createSecureContext, type SecureContext, type Server as TlsServer, type TLSSocket} from 'node:tls';
import {Ajv2020, type ErrorObject} from 'ajv/dist/2020.js';
import Fastify, {type FastifyInstance, type FastifyReply, type FastifyRequest} from 'fastify';
import {XiError} from '../errors.js';
import {safeJson} from '../output/visible.js';
import {openControllerAudit, readControllerSettings} from '../audit/controller-log.js';
import {openSpool, spoolPath} from '../audit/syslog-spool.js';
import {tailAuditLog} from '../metrics/audit-tail.js';
import {createControllerMetrics} from '../metrics/controller-metrics.js';
import {accessLine} from './access-log.js';
import {createClientContext, type ClientContext} from '../dispatch/agent-connection.js';
import type {RunEvent} from '../run/events.js';
import {loadControllerCredentials, openControllerRegistry, type ControllerPaths} from '../home.js';
import type {TlsCredentials} from '../pki/credentials.js';
import {revokedSerials} from '../registry/model.js';
import {normaliseSerial} from '../pki/fingerprints.js';
import {openTokenStore} from '../policy/token-store.js';
import type {TokenRecord, TokenScope} from '../policy/tokens.js';
import type {AuditLog} from '../audit/file-log.js';
import type {RegistryStore} from '../registry/store.js';
import {authenticate, type Caller} from './auth.js';
import {createDiscoveryCache, type DiscoveryCache} from '../core/discovery-cache.js';
import {errorAnswer} from './error-answer.js';
import type {ApiPorts} from './route-file.js';
import {policyServerName} from '../io/policy-client.js';
import {isJsonMediaType} from './request-checks.js';
import {openRequestRecords} from './request-records.js';
import {bodyLimitBytes, type Access} from './route-spec.js';
import {allRoutes, routeFiles} from './routes.js';
import {createLiveRuns} from './run-events.js';
import {runEventSchema} from './schemas.js';

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

export type ApiTlsVersion = 'TLSv1.2' | 'TLSv1.3';

export type ApiServer = {
	app: FastifyInstance;
	/** Every registered route, as Fastify registered it. */
	routes: ReadonlyArray<{method: string; url: string}>;
	listen: (host: string, port: number) => Promise<{host: string; port: number}>;
	/** Cancels runs still going (and waits for their records), then closes the listener and the audit log. */
	close: () => Promise<void>;
};

/**
 * TLS 1.3 only by default, as the agents and the pairing listener: every client we ship (and curl,
 * browsers, Node, Go, Python of the last five years) speaks it, and TLS 1.2's CBC suites are what
 * testssl flags (LUCKY13). A site whose client or load balancer still needs TLS 1.2 sets
 * {"api": {"tlsMinVersion": "TLSv1.2"}}: then only ECDHE with AEAD suites are offered, never CBC.
 * Tickets are off: a resumed session must not skip the client-certificate check.
 */
export function tlsSettings(minVersion: ApiTlsVersion = 'TLSv1.3') {
	return minVersion === 'TLSv1.3'
		? {minVersion, secureOptions: constants.SSL_OP_NO_TICKET}
		: {minVersion, secureOptions: constants.SSL_OP_NO_TICKET, ciphers: aeadCiphers};
}

const aeadCiphers = [
	'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256', 'TLS_AES_128_GCM_SHA256',
	'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-ECDSA-AES128-GCM-SHA256',
	'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-RSA-CHACHA20-POLY1305', 'ECDHE-RSA-AES128-GCM-SHA256',
].join(':');

const defaultDeadlines = {handshakeMs: 10_000, headersMs: 10_000};

export async function createApiServer(options: ApiServerOptions): Promise<ApiServer> {
	const now = options.now ?? (() => new Date());
	const log = options.log ?? ((line: string) => process.stderr.write(`xi-exec serve: ${line}\n`));
	const corsOrigins = new Set(options.corsOrigins ?? []);
	const {paths, server} = options;

	const tlsBase = tlsSettings(options.tlsMinVersion);
	const deadlines = options.deadlines ?? defaultDeadlines;
	const fleetContext: SecureContext = createSecureContext({...tlsBase, key: server.key, cert: server.cert, ca: [server.ca]});
	const app = Fastify({
		https: {
			...tlsBase,
			...(options.apiCertificate ?? {key: server.key, cert: server.cert}),
			ca: [server.ca],
			requestCert: true,
			rejectUnauthorized: false,
			handshakeTimeout: deadlines.handshakeMs,
			...(options.apiCertificate ? {SNICallback: (name: string, done: (error: Error | null, context?: SecureContext) => void) => done(null, name === policyServerName ? fleetContext : undefined)} : {}),
		},
		logger: false,
		genReqId: () => randomUUID(),
		bodyLimit: bodyLimitBytes,
		// Between requests; Fastify's default is 72 s.
		keepAliveTimeout: 5000,
		exposeHeadRoutes: false,
		return503OnClosing: true,
		forceCloseConnections: true,
		routerOptions: {maxParamLength: 128},
		onProtoPoisoning: 'error',
		onConstructorPoisoning: 'error',
		frameworkErrors: (error, _request, reply) => {
			const {status, body} = errorAnswer(error);
			void (reply as FastifyReply).code(status).send(body);
		},
	});

	cutIdleConnections(app.server as unknown as TlsServer, deadlines);

	// Bodies: only the JSON parser stays.
	app.removeContentTypeParser('text/plain');

	const ajvOptions = {strict: true, allErrors: false, allowUnionTypes: true, formats: {'date-time': true}} as const;
	const bodyAjv = new Ajv2020({...ajvOptions, useDefaults: true, coerceTypes: false});
	const queryAjv = new Ajv2020({...ajvOptions, useDefaults: true, coerceTypes: 'array'});
	const answerAjv = new Ajv2020({...ajvOptions});
	app.setValidatorCompiler(({schema, httpPart}) => (httpPart === 'body' ? bodyAjv : queryAjv).compile(schema as object));
	app.setSerializerCompiler(({schema, method, url, httpStatus}) => {
		const validate = answerAjv.compile(schema as object);
		return (data: unknown) => {
			if (!validate(data)) {
				throw new XiError('INTERNAL', `the answer to ${method} ${url} (${String(httpStatus)}) breaks its published schema: ${describeAjv(validate.errors)}`);
			}

			return safeJson(data);
		};
	});
	const validateEvent = answerAjv.compile(runEventSchema);

	const registry = openControllerRegistry(paths);
	const tokenStore = openTokenStore(paths.home);
	const audit = openControllerAudit(paths);
	const client = currentControllerClient(paths, options.client);
	const stopping = new AbortController();
	const running = new Set<Promise<unknown>>();
	const corsHeaders = (request: FastifyRequest): Record<string, string> => {
		const origin = request.headers.origin;
		return origin !== undefined && corsOrigins.has(origin) ? {'access-control-allow-origin': origin, vary: 'Origin'} : {};
	};

	const syslog = readControllerSettings(paths).syslogSettings;
	const metrics = createControllerMetrics({
		agents: async () => (await registry.read()).agents,
		spool: () => (syslog ? openSpool(spoolPath(paths.auditLog), syslog.spoolBytes).status() : undefined),
		now,
	});
	const auditTail = tailAuditLog(paths.auditLog);
	(app.server as unknown as TlsServer).on('tlsClientError', (error: NodeJS.ErrnoException) => {
		metrics.handshakeFailed(error.code ?? 'unknown');
	});

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
		running,
		checkEvent: (event: RunEvent) => (validateEvent(event) ? undefined : describeAjv(validateEvent.errors)),
		extraHeaders: corsHeaders,
		async metrics() {
			for (const record of auditTail.read()) {
				metrics.observe(record);
			}

			return {contentType: metrics.registry.contentType, text: await metrics.text()};
		},
		published: {
			routes: allRoutes,
			extraPaths: () => Object.assign({}, ...routeFiles.map(file => file.extraPaths?.(ports) ?? {})) as Record<string, Record<string, unknown>>,
		},
		version: options.version ?? '0.1.0',
		now,
		log,
		...(options.heartbeatMs ? {heartbeatMs: options.heartbeatMs} : {}),
	};

	const registered: Array<{method: string; url: string}> = [];
	app.addHook('onRoute', route => {
		for (const method of [route.method].flat()) {
			registered.push({method, url: route.url});
		}
	});

	const callers = new WeakMap<FastifyRequest, Caller>();
	const authPorts = {tokens: ports.tokens, registry: async () => registry.read(), now};

	// The one authentication hook: every request, every route, before the body is read.
	app.addHook('onRequest', async (request, reply) => {
		if (answerPreflight(request, reply, corsOrigins)) {
			return reply;
		}

		const access = (request.routeOptions.config as {access?: Access} | undefined)?.access;
		callers.set(request, await authenticate(request, access, authPorts));
		return undefined;
	});

	// A body, on any route, is application/json or nothing.
	app.addHook('preParsing', async (request, _reply, payload) => {
		const hasBody = request.routeOptions.schema?.body !== undefined
			|| (request.headers['content-length'] !== undefined && request.headers['content-length'] !== '0')
			|| request.headers['transfer-encoding'] !== undefined;
		if (request.method !== 'GET' && hasBody && !isJsonMediaType(request.headers['content-type'])) {
			throw new XiError('MEDIA_TYPE_UNSUPPORTED', `The request body must be sent as Content-Type: application/json; got ${JSON.stringify(request.headers['content-type'] ?? 'none')}.`);
		}

		return payload;
	});

	app.addHook('onSend', async (request, reply, payload) => {
		void reply.header('x-content-type-options', 'nosniff').header('x-request-id', String(request.id));
		if (!reply.hasHeader('cache-control')) {
			void reply.header('cache-control', 'no-store');
		}

		for (const [name, value] of Object.entries(corsHeaders(request))) {
			void reply.header(name, value);
		}

		return payload;
	});

	if (options.accessLog) {
		const write = options.accessLog;
		app.addHook('onResponse', async (request, reply) => {
			write(JSON.stringify(accessLine(request, reply, callers.get(request), now())));
		});
	}

	app.setErrorHandler((error, request, reply) => {
		const {status, body} = errorAnswer(error);
		if (body.error.code === 'INTERNAL') {
			log(`${request.method} ${request.url}: ${(error as Error).stack ?? String(error)}`);
		}

		void reply.code(status).send(body);
	});

	app.setNotFoundHandler(async request => {
		throw new XiError('ROUTE_UNKNOWN', `No route ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}; GET /openapi.json lists them.`);
	});

	// Each route file's routes, each with its own file's handler.
	const fileRoutes = routeFiles.flatMap(file => {
		const handlers = file.handlers(ports);
		return file.routes.map(route => ({route, handler: handlers[route.operationId]}));
	});
	for (const {route, handler} of fileRoutes) {
		if (!handler) {
			throw new XiError('INTERNAL', `route ${route.method} ${route.url} has no handler`);
		}

		app.route({
			method: route.method,
			url: route.url,
			schema: route.schema,
			config: {access: route.operationId === 'metrics' && options.metricsToken === false ? 'public' : route.access},
			handler: async (request, reply) => {
				const caller = callers.get(request);
				if (!caller) {
					throw new XiError('INTERNAL', 'a request reached a handler without passing authentication');
				}

				return handler(request, reply, caller);
			},
		});
	}

	const mounted = (options.mounts ?? []).map(mount => mount({
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
	}));
	for (const mount of mounted) {
		app.route({
			method: [...mount.methods],
			url: mount.url,
			config: {access: 'token' satisfies Access},
			handler: async (request, reply) => {
				const caller = callers.get(request);
				if (caller?.kind !== 'token') {
					throw new XiError('INTERNAL', 'a request reached a mounted face without a bearer token');
				}

				await mount.handle(request.raw, reply.raw, request.body, {token: caller.token, scope: caller.scope, source: request.ip}, () => reply.hijack());
				return reply;
			},
		});
	}

	await app.ready();
	return {
		app,
		routes: registered,
		async listen(host, port) {
			await app.listen({host, port});
			const address = app.server.address();
			return {host, port: typeof address === 'object' && address ? address.port : port};
		},
		async close() {
			stopping.abort();
			await Promise.allSettled([...running, ...mounted.map(async mount => mount.close())]);
			await app.close();
			await client().context.close();
			await audit.close();
		},
	};
}

/**
 * Idle and slow connections are cut within a second or two of their deadline (measured: Node's
 * defaults kept an idle TCP or TLS connection open 120 s and more). A handshake not done in
 * `handshakeMs` is refused and its socket destroyed (Node reports it and leaves it open); a TLS
 * connection that sends nothing within `headersMs` is cut; once it sends, the headers must be
 * complete within `headersMs` (checked every second) and the whole request within 30 s.
 */
function cutIdleConnections(server: TlsServer, deadlines: {handshakeMs: number; headersMs: number}): void {
	const http = server as TlsServer & {headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number};
	http.headersTimeout = deadlines.headersMs;
	http.requestTimeout = Math.max(30_000, deadlines.headersMs);
	http.connectionsCheckingInterval = Math.min(1000, deadlines.headersMs);
	server.on('tlsClientError', (_error: Error, socket: TLSSocket) => {
		socket.destroy();
	});
	server.on('secureConnection', (socket: TLSSocket) => {
		socket.setTimeout(deadlines.headersMs, () => socket.destroy());
		socket.once('data', () => socket.setTimeout(0));
	});
}

/** A CORS preflight from an allowed origin is answered here, before authentication (it carries no token). */
function answerPreflight(request: FastifyRequest, reply: FastifyReply, origins: ReadonlySet<string>): boolean {
	const origin = request.headers.origin;
	if (request.method !== 'OPTIONS' || origin === undefined || !origins.has(origin) || request.headers['access-control-request-method'] === undefined) {
		return false;
	}

	void reply.code(204).headers({
		'access-control-allow-origin': origin,
		'access-control-allow-methods': 'GET, POST, DELETE',
		'access-control-allow-headers': 'Authorization, Content-Type',
		'access-control-max-age': '600',
		vary: 'Origin',
	}).send();
	return true;
}

function describeAjv(errors: ErrorObject[] | null | undefined): string {
	const [first] = errors ?? [];
	return first ? `${first.instancePath || '(root)'} ${first.message ?? 'is invalid'}` : 'invalid';
}

/**
 * The controller's client identity for dialling agents, reloaded when controller.pem changes (a
 * rotation completed by `xi-exec rotate` or by another process): agents retire the old serial at
 * their first contact with the new one, and a long-running server must not be left behind.
 */
function currentControllerClient(paths: ControllerPaths, initial: TlsCredentials): () => {context: ClientContext; serial: string} {
	const make = (credentials: TlsCredentials) => ({context: createClientContext(credentials), serial: normaliseSerial(new X509Certificate(credentials.cert).serialNumber)});
	let current = make(initial);
	let seen = modifiedAt(paths.controllerCert);
	return () => {
		const now = modifiedAt(paths.controllerCert);
		if (now !== seen) {
			seen = now;
			try {
				current = make(loadControllerCredentials(paths));
			} catch {
				// Mid-rotation (the key moved, the certificate not yet): keep the last good one.
			}
		}

		return current;
	};
}

function modifiedAt(path: string): number | undefined {
	try {
		return statSync(path).mtimeMs;
	} catch {
		return undefined;
	}
}
