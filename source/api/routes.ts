/**
 * Every route of the REST API: method, path, who may call it, and its schemas. The server
 * registers exactly these, and the OpenAPI document is built from exactly these. Pure.
 *
 * Access, checked by one global hook before anything else:
 *   public       /healthz and the static /docs page (which asks for a token itself)
 *   token        a bearer token; the handler then checks the request against the token's scope
 *   admin        a bearer token whose scope is everything (--scripts '*' --on all)
 *   agent        the client certificate of a paired agent (the policy endpoint)
 * A route without an access entry is refused by the hook: nothing is public by accident.
 */
import * as s from './schemas.js';
import type {JsonSchema} from './schemas.js';

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

const errors = {'4xx': s.errorSchema, '5xx': s.errorSchema};

export const routes: readonly RouteSpec[] = [
	{
		method: 'GET', url: '/healthz', access: 'public', operationId: 'health', tag: 'service',
		summary: 'Whether the server is up (no authentication)',
		schema: {response: {200: s.healthSchema, ...errors}},
	},
	{
		method: 'GET', url: '/docs', access: 'public', operationId: 'docsPage', tag: 'service', produces: 'text/html',
		summary: 'A page that asks for a token and shows this document (loads nothing from the network)',
		schema: {response: {200: {type: 'string'}, ...errors}},
	},
	{
		method: 'GET', url: '/docs/docs.js', access: 'public', operationId: 'docsScript', tag: 'service', produces: 'text/javascript',
		summary: 'The docs page\'s script',
		schema: {response: {200: {type: 'string'}, ...errors}},
	},
	{
		method: 'GET', url: '/docs/docs.css', access: 'public', operationId: 'docsStyle', tag: 'service', produces: 'text/css',
		summary: 'The docs page\'s style sheet',
		schema: {response: {200: {type: 'string'}, ...errors}},
	},
	{
		method: 'GET', url: '/metrics', access: 'admin', operationId: 'metrics', tag: 'service', produces: 'text/plain',
		summary: 'Prometheus metrics of the controller (text exposition format 0.0.4)',
		description: 'Runs, hosts\' outcomes and durations, denials, pairings, audit records, certificate expiry, the syslog spool and TLS handshake failures, from every controller process (README, Metrics). A token whose scope is everything by default (the metrics describe the whole fleet); `{"api": {"metricsToken": false}}` in config.json makes it public.',
		schema: {response: {200: {type: 'string'}, ...errors}},
	},
	{
		method: 'GET', url: '/openapi.json', access: 'token', operationId: 'openapi', tag: 'service',
		summary: 'This document, generated from the scripts on the reachable agents',
		description: 'Each script on a reachable agent has its own operation, `POST /v1/scripts/{name}`, whose `args` is that script\'s advertised argument schema. A scoped token sees only its scripts, and may select only agents within its scope.',
		schema: {querystring: s.openapiQuerySchema, response: {200: {type: 'object', required: ['openapi', 'info', 'paths'], properties: {openapi: {const: '3.1.0'}, info: {type: 'object'}, paths: {type: 'object'}}}, ...errors}},
	},
	{
		method: 'GET', url: '/v1/agents', access: 'token', operationId: 'listAgents', tag: 'discovery',
		summary: 'Registered agents, each asked what it runs now',
		description: 'Every registered agent matching `on` with its address, tags (and drift from the tags it reports), reachability, last seen, certificate expiry and scripts.',
		schema: {querystring: s.agentsQuerySchema, response: {200: s.agentListSchema, ...errors}},
	},
	{
		method: 'POST', url: '/v1/runs', access: 'token', operationId: 'run', tag: 'runs',
		summary: 'Run an allowlisted script on the selected agents',
		description: 'Answers the same document as `xi-exec run --json` when the run ends (with `"dryRun": true`, that of `xi-exec run --dry-run --json`), or 202 at once with `"wait": false`. A selector reaching any agent outside the token\'s scope refuses the whole request before anything is dialled.',
		schema: {body: s.runBodySchema, response: {200: s.runAnswerSchema, 202: s.acceptedSchema, ...errors}},
	},
	{
		method: 'POST', url: '/v1/scripts/:script', access: 'token', operationId: 'runScript', tag: 'scripts',
		summary: 'Run one script (its own operation in /openapi.json)',
		description: 'The arguments are checked against the argument schema each selected agent advertises before anything runs. Answers as POST /v1/runs.',
		schema: {params: s.scriptParamsSchema, body: s.scriptRunBody, response: {200: s.runAnswerSchema, 202: s.acceptedSchema, ...errors}},
	},
	{
		method: 'GET', url: '/v1/runs', access: 'token', operationId: 'listRuns', tag: 'runs',
		summary: 'Recent runs from the history, newest first',
		description: 'Each run as a line of `xi-exec runs --json`.',
		schema: {querystring: s.runsQuerySchema, response: {200: s.runListSchema, ...errors}},
	},
	{
		method: 'GET', url: '/v1/runs/:id', access: 'token', operationId: 'getRun', tag: 'runs',
		summary: 'One run from the history, with its full output',
		description: 'The same document as `xi-exec runs show ID --json` (and `xi-exec run --json`). A run still going shows the hosts that have not answered yet as `error` with the reason "no result was recorded".',
		schema: {params: s.runParamsSchema, querystring: s.runQuerySchema, response: {200: s.runDocumentSchema, ...errors}},
	},
	{
		method: 'POST', url: '/v1/runs/:id/cancel', access: 'token', operationId: 'cancelRun', tag: 'runs',
		summary: 'Cancel a run on every host still running it',
		description: 'As `xi-exec cancel ID`: each host without a result is asked to cancel, kills the script\'s whole process group and ends as `cancelled`; hosts not started yet are not started (`skipped`). Recorded in the controller\'s audit log with the caller and the source address. A token may cancel only runs within its scope.',
		schema: {params: s.runParamsSchema, response: {200: s.cancelAnswerSchema, ...errors}},
	},
	{
		method: 'GET', url: '/v1/runs/:id/events', access: 'token', operationId: 'runEvents', tag: 'runs', produces: 'text/event-stream',
		summary: 'The run\'s events as Server-Sent Events, as they happen',
		description: 'Each event\'s `event` is its type and its `data` a RunEvent. A run in progress streams live; a finished run is replayed from the history. The stream ends after `run-finished`. Each event has an `id` that means the same event live and replayed: a client that reconnects with `Last-Event-ID` (as EventSource does) gets only the events after that one, from the live run or the history, then the live ones.',
		schema: {params: s.runParamsSchema, headers: s.eventStreamHeadersSchema, response: {200: s.runEventSchema, ...errors}},
	},
	{
		method: 'GET', url: '/v1/audit', access: 'admin', operationId: 'listAudit', tag: 'audit',
		summary: 'The controller\'s audit records, filtered by request, agent or age',
		schema: {querystring: s.auditQuerySchema, response: {200: s.auditListSchema, ...errors}},
	},
	{
		method: 'GET', url: '/v1/tokens', access: 'admin', operationId: 'listTokens', tag: 'tokens',
		summary: 'Tokens (never the tokens themselves)',
		schema: {response: {200: s.tokenListSchema, ...errors}},
	},
	{
		method: 'POST', url: '/v1/tokens', access: 'admin', operationId: 'createToken', tag: 'tokens',
		summary: 'Create a scoped token; it is shown in this answer only',
		schema: {body: s.tokenCreateBodySchema, response: {201: s.tokenCreatedSchema, ...errors}},
	},
	{
		method: 'DELETE', url: '/v1/tokens/:name', access: 'admin', operationId: 'revokeToken', tag: 'tokens',
		summary: 'Revoke a token: it stops working on the next call, on every host',
		schema: {params: s.tokenParamsSchema, response: {200: s.tokenRevokedSchema, ...errors}},
	},
	{
		method: 'POST', url: '/v1/policy/check', access: 'agent', operationId: 'policyCheck', tag: 'policy',
		summary: 'The central policy check the agents\' reference hook calls',
		description: 'Authenticated by the calling agent\'s own client certificate (mutual TLS with the fleet CA), not by a token. Allows only when the token exists, is neither revoked nor expired, and its scope includes the script and this agent (by the registry\'s tags); a run without a token only when the controller recorded the request without one.',
		schema: {body: s.policyContextSchema, response: {200: s.policyAnswerSchema, ...errors}},
	},
];

/** `/v1/runs/:id` → `/v1/runs/{id}` */
export function openapiPath(url: string): string {
	return url.replaceAll(/:([A-Za-z]+)/g, '{$1}');
}

export const bodyLimitBytes = 64 * 1024;
