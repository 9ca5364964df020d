/**
 * The routes the server registers: each route file's routes with that file's handlers (found by
 * operationId), and the faces mounted behind the same authentication (`/mcp`). A handler is only
 * reached by a request the authentication hook let through.
 */
import type {FastifyInstance, FastifyRequest} from 'fastify';
import {XiError} from '../errors.js';
import type {Caller} from './auth.js';
import type {ApiPorts} from './route-file.js';
import type {Access} from './route-spec.js';
import {routeFiles} from './routes.js';
import type {MountedRoute} from './server-options.js';

type Callers = WeakMap<FastifyRequest, Caller>;

export function registerRouteFiles(app: FastifyInstance, ports: ApiPorts, callers: Callers, options: {metricsToken?: boolean}): void {
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
}

export function registerMounts(app: FastifyInstance, mounted: readonly MountedRoute[], callers: Callers): void {
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

				await mount.handle(request.raw, reply.raw, request.body, {token: caller.token, scope: caller.scope, source: request.ip}, () => {
					reply.hijack();
				});
				return reply;
			},
		});
	}
}
