/**
 * The REST API server (Fastify 5 over HTTPS). Registers exactly the routes of the route table,
 * each validated against its schemas (Ajv, JSON Schema 2020-12) for the request and for the
 * answer, behind one global authentication hook. The TLS layer asks every client for a
 * certificate signed by the fleet CA but lets one without through (bearer-token callers have
 * none); the policy route then requires an agent's. With an operator-supplied certificate for
 * the REST API, the agents' policy calls still get the fleet certificate, chosen by the SNI name
 * the policy client sends. Each part is its own module: TLS (api-tls.ts), schemas
 * (schema-compilers.ts), the hooks every request goes through (request-hooks.ts), the ports
 * (api-ports.ts), the routes (register-routes.ts).
 */
import {randomUUID} from 'node:crypto';
import {createSecureContext, type SecureContext, type Server as TlsServer} from 'node:tls';
import Fastify, {type FastifyInstance, type FastifyReply} from 'fastify';
import {policyServerName} from '../io/policy-client.js';
import {cutIdleConnections, defaultDeadlines, tlsSettings} from './api-tls.js';
import {openApiPorts} from './api-ports.js';
import {errorAnswer} from './error-answer.js';
import {registerMounts, registerRouteFiles} from './register-routes.js';
import {corsHeaders, installRequestHooks} from './request-hooks.js';
import {bodyLimitBytes} from './route-spec.js';
import {installSchemaCompilers} from './schema-compilers.js';
import type {ApiServer, ApiServerOptions} from './server-options.js';

export type {ApiServer, ApiServerOptions, ApiTlsVersion, MountedRoute, SharedPorts} from './server-options.js';
export {tlsSettings} from './api-tls.js';

export async function createApiServer(options: ApiServerOptions): Promise<ApiServer> {
	const now = options.now ?? (() => new Date());
	const log = options.log ?? ((line: string) => process.stderr.write(`xi-exec serve: ${line}\n`));
	const corsOrigins = new Set(options.corsOrigins ?? []);
	const app = createFastify(options);
	const registered: Array<{method: string; url: string}> = [];
	app.addHook('onRoute', route => {
		for (const method of [route.method].flat()) {
			registered.push({method, url: route.url});
		}
	});

	const checkEvent = installSchemaCompilers(app);
	const {ports, shared, client, stopping, handshakeFailed} = openApiPorts(options, {now, log, checkEvent, extraHeaders: request => corsHeaders(corsOrigins, request)});
	(app.server as unknown as TlsServer).on('tlsClientError', (error: NodeJS.ErrnoException) => {
		handshakeFailed(error.code ?? 'unknown');
	});
	const callers = installRequestHooks(app, {corsOrigins, auth: {tokens: ports.tokens, registry: async () => ports.registry.read(), now}, ...(options.accessLog ? {accessLog: options.accessLog} : {}), log, now});
	registerRouteFiles(app, ports, callers, options);
	const mounted = (options.mounts ?? []).map(mount => mount(shared));
	registerMounts(app, mounted, callers);

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
			await Promise.allSettled([...ports.running, ...mounted.map(async mount => mount.close())]);
			await app.close();
			await client.close();
			await ports.audit.close();
		},
	};
}

/** Fastify over HTTPS with the API's TLS, limits and deadlines; bodies only as JSON. */
function createFastify(options: ApiServerOptions): FastifyInstance {
	const {server} = options;
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
	cutIdleConnections(app.server, deadlines);
	// Bodies: only the JSON parser stays.
	app.removeContentTypeParser('text/plain');
	return app;
}
