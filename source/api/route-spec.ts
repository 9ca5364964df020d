/**
 * What a route is: method, path, who may call it, and its schemas. Every route file declares its
 * routes in this shape; the server registers exactly these, and the OpenAPI document is built
 * from exactly these. Pure.
 *
 * Access, checked by one global hook before anything else:
 *   public       /healthz and the static /docs page (which asks for a token itself)
 *   token        a bearer token; the handler then checks the request against the token's scope
 *   admin        a bearer token whose scope is everything (--scripts '*' --on all)
 *   agent        the client certificate of a paired agent (the policy endpoint)
 * A route without an access entry is refused by the hook: nothing is public by accident.
 */
import {errorSchema, type JsonSchema} from './schemas.js';

export type Access = 'public' | 'token' | 'admin' | 'agent';

export type RouteSchema = {
	params?: JsonSchema;
	querystring?: JsonSchema;
	/** Request headers the route reads (others pass). */
	headers?: JsonSchema;
	body?: JsonSchema;
	/** By status code; `4xx` and `5xx` are ranges (OpenAPI's `4XX`). */
	response: Record<string, JsonSchema>;
};

export type RouteSpec = {
	method: 'GET' | 'POST' | 'DELETE';
	/** Fastify's spelling (`/v1/runs/:id`). */
	url: string;
	access: Access;
	operationId: string;
	summary: string;
	description?: string;
	tag: string;
	schema: RouteSchema;
	/** When the 200 answer is not JSON: its media type (the schema is then for the document only). */
	produces?: 'text/event-stream' | 'text/html' | 'text/javascript' | 'text/css' | 'text/plain';
};

/** Every route's error answers: the one error schema for any 4xx and 5xx. */
export const errorResponses = {'4xx': errorSchema, '5xx': errorSchema};

/** `/v1/runs/:id` → `/v1/runs/{id}` */
export function openapiPath(url: string): string {
	return url.replaceAll(/:([A-Za-z]+)/g, '{$1}');
}

export const bodyLimitBytes = 64 * 1024;
