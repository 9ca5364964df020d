/**
 * What every request goes through, whatever its route: a CORS preflight answered, the one
 * authentication hook (before the body is read), a body only as application/json, the same
 * headers on every answer, the access log, and one error shape (error-answer.ts) — an internal
 * error's details go to the server's log, never to the caller.
 */
import type {FastifyInstance, FastifyReply, FastifyRequest} from 'fastify';
import {XiError} from '../errors.js';
import {accessLine} from './access-log.js';
import {authenticate, type Caller} from './auth.js';
import {errorAnswer} from './error-answer.js';
import {isJsonMediaType} from './request-checks.js';
import type {Access} from './route-spec.js';

export type RequestHookOptions = {
	corsOrigins: ReadonlySet<string>;
	auth: Parameters<typeof authenticate>[2];
	accessLog?: (line: string) => void;
	log: (line: string) => void;
	now: () => Date;
};

/** Headers every response to `request` carries (CORS), for streams written outside Fastify's reply too. */
export function corsHeaders(origins: ReadonlySet<string>, request: FastifyRequest): Record<string, string> {
	const origin = request.headers.origin;
	return origin !== undefined && origins.has(origin) ? {'access-control-allow-origin': origin, vary: 'Origin'} : {};
}

/** Installs the hooks; returns the caller each request authenticated as. */
export function installRequestHooks(app: FastifyInstance, options: RequestHookOptions): WeakMap<FastifyRequest, Caller> {
	const {corsOrigins, now} = options;
	const callers = new WeakMap<FastifyRequest, Caller>();

	// The one authentication hook: every request, every route, before the body is read.
	app.addHook('onRequest', async (request, reply) => {
		if (answerPreflight(request, reply, corsOrigins)) {
			return reply;
		}

		const access = (request.routeOptions.config as {access?: Access} | undefined)?.access;
		callers.set(request, await authenticate(request, access, options.auth));
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

		for (const [name, value] of Object.entries(corsHeaders(corsOrigins, request))) {
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

	installErrorHandlers(app, options.log);
	return callers;
}

function installErrorHandlers(app: FastifyInstance, log: (line: string) => void): void {
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
