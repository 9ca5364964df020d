/**
 * The service routes: health, the docs page and its files, Prometheus metrics, and the OpenAPI
 * document built from every registered route and the scripts the reachable agents advertise.
 */
import {buildCatalog} from '../core/script-catalog.js';
import {scopeAllowsScript} from '../policy/tokens.js';
import {selectWithinScope, tokenCaller} from './caller-scope.js';
import {docsCss, docsHtml, docsScript, docsSecurityPolicy} from './docs-page.js';
import {buildOpenApiDocument} from './openapi.js';
import type {ApiPorts, Handler, RouteFile} from './route-file.js';
import {errorResponses, type RouteSpec} from './route-spec.js';
import * as s from './schemas.js';

const routes: readonly RouteSpec[] = [
	{
		method: 'GET', url: '/healthz', access: 'public', operationId: 'health', tag: 'service',
		summary: 'Whether the server is up (no authentication)',
		schema: {response: {200: s.healthSchema, ...errorResponses}},
	},
	{
		method: 'GET', url: '/docs', access: 'public', operationId: 'docsPage', tag: 'service', produces: 'text/html',
		summary: 'A page that asks for a token and shows this document (loads nothing from the network)',
		schema: {response: {200: {type: 'string'}, ...errorResponses}},
	},
	{
		method: 'GET', url: '/docs/docs.js', access: 'public', operationId: 'docsScript', tag: 'service', produces: 'text/javascript',
		summary: 'The docs page\'s script',
		schema: {response: {200: {type: 'string'}, ...errorResponses}},
	},
	{
		method: 'GET', url: '/docs/docs.css', access: 'public', operationId: 'docsStyle', tag: 'service', produces: 'text/css',
		summary: 'The docs page\'s style sheet',
		schema: {response: {200: {type: 'string'}, ...errorResponses}},
	},
	{
		method: 'GET', url: '/metrics', access: 'admin', operationId: 'metrics', tag: 'service', produces: 'text/plain',
		summary: 'Prometheus metrics of the controller (text exposition format 0.0.4)',
		description: 'Runs, hosts\' outcomes and durations, denials, pairings, audit records, certificate expiry, the syslog spool and TLS handshake failures, from every controller process (README, Metrics). A token whose scope is everything by default (the metrics describe the whole fleet); `{"api": {"metricsToken": false}}` in config.json makes it public.',
		schema: {response: {200: {type: 'string'}, ...errorResponses}},
	},
	{
		method: 'GET', url: '/openapi.json', access: 'token', operationId: 'openapi', tag: 'service',
		summary: 'This document, generated from the scripts on the reachable agents',
		description: 'Each script on a reachable agent has its own operation, `POST /v1/scripts/{name}`, whose `args` is that script\'s advertised argument schema. A scoped token sees only its scripts, and may select only agents within its scope.',
		schema: {querystring: s.openapiQuerySchema, response: {200: {type: 'object', required: ['openapi', 'info', 'paths'], properties: {openapi: {const: '3.1.0'}, info: {type: 'object'}, paths: {type: 'object'}}}, ...errorResponses}},
	},
];

function handlers(ports: ApiPorts): Record<string, Handler> {
	return {
		async health() {
			return {status: 'ok'};
		},

		docsPage: staticFile('text/html; charset=utf-8', docsHtml),
		docsScript: staticFile('text/javascript; charset=utf-8', docsScript),
		docsStyle: staticFile('text/css; charset=utf-8', docsCss),

		async metrics(_request, reply) {
			const {contentType, text} = await ports.metrics();
			void reply.header('content-type', contentType);
			return text;
		},

		async openapi(request, _reply, caller) {
			const {scope} = tokenCaller(caller);
			const {agents} = await selectWithinScope(ports.registry, scope, (request.query as {on?: string | string[]}).on);
			const found = await ports.discovery.discover(agents, {maxAgeMs: ports.discoveryMaxAgeMs});
			return buildOpenApiDocument({
				catalog: buildCatalog(found, script => scopeAllowsScript(scope, script)),
				version: ports.version,
				routes: ports.published.routes,
				extraPaths: ports.published.extraPaths(),
			});
		},
	};
}

function staticFile(type: string, body: string): Handler {
	return async (_request, reply) => {
		void reply.header('content-type', type).header('content-security-policy', docsSecurityPolicy).header('cache-control', 'no-cache');
		return body;
	};
}

export const serviceRoutes: RouteFile = {routes, handlers};
