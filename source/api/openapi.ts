/**
 * The OpenAPI 3.1 document: the fixed routes from the route table, and one operation per script
 * found on the reachable agents, `POST /v1/scripts/{name}`, whose `args` is that script's
 * advertised argument schema (a `oneOf` where agents advertise different schemas for one name).
 * Built from the very schema objects the server validates with. Pure.
 */
import {relocateSchema} from '../core/advertised-schema.js';
import {openapiPath, type RouteSpec} from './route-spec.js';
import {namedSchemas, scriptRunBodySchema, type JsonSchema} from './schemas.js';
import type {Catalog, CatalogScript} from '../core/script-catalog.js';

export const scriptRouteUrl = '/v1/scripts/:script';

export type OpenApiInput = {
	catalog: Catalog;
	version: string;
	routes: readonly RouteSpec[];
	/** Operations built elsewhere (one per runbook), by path. */
	extraPaths?: Record<string, Record<string, unknown>>;
};

const statusText: Record<string, string> = {
	200: 'OK',
	201: 'Created',
	202: 'Accepted: the run goes on; follow its events',
	400: 'Bad request: a field, a selector or an argument is invalid (the message names it)',
	401: 'No valid bearer token (or, for the policy check, no paired agent\'s certificate)',
	403: 'Out of the token\'s scope, or a token whose scope is not everything where one is needed',
	404: 'No such run, token, agent or script',
	409: 'The run waits for approval (APPROVAL_PENDING: `approval` names the request), or what it acts on is in the wrong state',
	413: 'The request body is larger than the limit',
	415: 'The request body is not application/json',
	500: 'A bug in the controller (the message says what failed)',
	502: 'An agent answered with a frame that breaks the wire protocol',
	503: 'The controller cannot answer now: its audit log cannot be written, or it is stopping',
};

/**
 * The error statuses a route can answer, each with the error schema: declared one by one (not as
 * 4XX/5XX ranges) so that a generated client has a typed error for each.
 */
export function errorStatuses(route: RouteSpec): string[] {
	const validated = route.schema.body !== undefined || route.schema.querystring !== undefined || route.schema.params !== undefined || route.schema.headers !== undefined;
	const withBody = route.method !== 'GET';
	const dials = route.operationId === 'runScript' || /^\/v1\/(runs|scripts)/.test(route.url) || route.url === '/v1/agents' || route.url === '/openapi.json';
	return [
		...(validated ? ['400'] : []),
		...(route.access === 'public' ? [] : ['401']),
		...(route.access === 'public' ? [] : ['403']),
		...(route.schema.params === undefined ? [] : ['404']),
		...(withBody ? ['413', '415'] : []),
		'500',
		...(dials ? ['502'] : []),
		'503',
	];
}

const accessText: Record<RouteSpec['access'], string> = {
	public: 'No token needed.',
	token: 'Needs a bearer token; a scoped token sees and selects only what its scope allows.',
	admin: 'Needs a bearer token whose scope is everything (`--scripts \'*\' --on all`).',
	agent: 'Needs a paired agent\'s client certificate; no token.',
};

export function buildOpenApiDocument(input: OpenApiInput): Record<string, unknown> {
	const {routes} = input;
	const components: Record<string, unknown> = {};
	for (const [name, schema] of Object.entries(namedSchemas)) {
		components[name] = refer(schema, schema);
	}

	const paths: Record<string, Record<string, unknown>> = {};
	const add = (path: string, method: string, operation: Record<string, unknown>) => {
		paths[path] = {...paths[path], [method.toLowerCase()]: operation};
	};

	const scriptRoute = routes.find(route => route.url === scriptRouteUrl);
	for (const route of routes) {
		if (route !== scriptRoute) {
			add(openapiPath(route.url), route.method, operation(route));
		}
	}

	const usedIds = new Set(routes.map(route => route.operationId));
	for (const script of input.catalog.scripts) {
		if (scriptRoute) {
			add(`/v1/scripts/${script.name}`, 'POST', scriptOperation(scriptRoute, script, components, usedIds));
		}
	}

	for (const [path, operations] of Object.entries(input.extraPaths ?? {})) {
		paths[path] = {...paths[path], ...operations};
	}

	dropUnused(components, paths);
	return {
		openapi: '3.1.0',
		info: {
			title: 'Xi-Exec controller',
			version: input.version,
			contact: {name: 'The operators of this controller (whoever runs xi-exec serve here)'},
			description: 'Controlled remote execution: allowlisted scripts on agents over mutual TLS. Authenticate with a bearer token from `xi-exec token create` (or `POST /v1/tokens`). The per-script operations below are generated from the scripts on the agents reachable at the last discovery.',
		},
		// Relative: the API is wherever this document was fetched from.
		servers: [{url: '/', description: 'This controller (xi-exec serve)'}],
		security: [{bearerToken: []}],
		tags: [
			{name: 'scripts', description: 'One operation per script on the reachable agents'},
			{name: 'runs', description: 'Runs and the run history'},
			{name: 'runbooks', description: 'Runbooks: named steps run in order or in parallel, each a run (one operation per runbook)'},
			{name: 'discovery', description: 'Agents, their tags and scripts'},
			{name: 'approvals', description: 'Two-person approval: runs waiting for a second operator (approve with an operator token)'},
			{name: 'tokens', description: 'Scoped tokens (needs a token whose scope is everything)'},
			{name: 'audit', description: 'The controller\'s audit trail (needs a token whose scope is everything)'},
			{name: 'policy', description: 'The agents\' central policy check'},
			{name: 'service', description: 'Health, this document and its page'},
		],
		paths,
		components: {
			securitySchemes: {
				bearerToken: {type: 'http', scheme: 'bearer', description: 'A token from `xi-exec token create`, in the Authorization header only (never in a URL).'},
				agentCertificate: {type: 'mutualTLS', description: 'A paired agent\'s own certificate, signed by the fleet CA.'},
			},
			schemas: components,
		},
		...(input.catalog.problems.length > 0 ? {'x-xi-exec-refused-schemas': input.catalog.problems} : {}),
	};
}

function operation(route: RouteSpec): Record<string, unknown> {
	const {schema} = route;
	const parameters = [
		...Object.entries(properties(schema.params)).map(([name, value]) => ({name, in: 'path', required: true, schema: refer(value)})),
		...Object.entries(properties(schema.querystring)).map(([name, value]) => ({
			name,
			in: 'query',
			required: ((schema.querystring?.['required'] as string[] | undefined) ?? []).includes(name),
			schema: refer(value),
			...(typeof value['description'] === 'string' ? {description: value['description']} : {}),
		})),
		...Object.entries(properties(schema.headers)).map(([name, value]) => ({
			name: name.replaceAll(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase()).replace('-Id', '-ID'),
			in: 'header',
			required: false,
			schema: refer(value),
			...(typeof value['description'] === 'string' ? {description: value['description']} : {}),
		})),
	];
	return {
		operationId: route.operationId,
		summary: route.summary,
		description: `${route.description ?? `${route.summary}.`} ${accessText[route.access]}`,
		tags: [route.tag],
		...(route.access === 'public' ? {security: []} : {}),
		...(route.access === 'agent' ? {security: [{agentCertificate: []}]} : {}),
		...(parameters.length > 0 ? {parameters} : {}),
		...(schema.body ? {requestBody: {required: true, content: {'application/json': {schema: refer(schema.body)}}}} : {}),
		responses: responses(route),
	};
}

function responses(route: RouteSpec): Record<string, unknown> {
	const result: Record<string, unknown> = {};
	const errorSchema = route.schema.response['4xx'];
	const declared = Object.entries(route.schema.response).filter(([status]) => !/^[45]xx$/.test(status));
	const errors = errorSchema ? errorStatuses(route).map((status): [string, JsonSchema] => [status, errorSchema]) : [];
	for (const [status, schema] of [...declared, ...errors].sort(([a], [b]) => a.localeCompare(b))) {
		const key = status.toUpperCase();
		const media = status === '200' && route.produces ? route.produces : 'application/json';
		// An event stream's schema describes each event's data; the body itself is text.
		const content = media === 'text/event-stream'
			? {[media]: {schema: {type: 'string'}, 'x-event-data': refer(schema)}}
			: {[media]: {schema: refer(schema)}};
		result[key] = {description: statusText[key] ?? key, content};
	}

	return result;
}

function scriptOperation(route: RouteSpec, script: CatalogScript, components: Record<string, unknown>, usedIds: Set<string>): Record<string, unknown> {
	const variants = script.variants.map((variant, index) => {
		if (!variant.schema) {
			return {variant, args: {$ref: '#/components/schemas/Arguments'}};
		}

		const name = script.variants.length === 1 ? `Args.${script.name}` : `Args.${script.name}.${index + 1}`;
		components[name] = relocateSchema(variant.schema, `#/components/schemas/${name}`);
		return {variant, args: {$ref: `#/components/schemas/${name}`}};
	});
	const args: JsonSchema = variants.length === 1
		? variants[0]!.args
		: {
			oneOf: variants.map(({variant, args: branch}) => ({...branch, description: `As advertised by ${listAgents(variant.agents)}.`})),
			description: 'Agents advertise different argument schemas for this script; each agent checks the arguments against its own, and the controller checks them against each selected agent\'s schema before running.',
		};
	const [first] = script.variants;
	const descriptions = [...new Set(script.variants.map(variant => variant.description).filter(Boolean))];
	const where = script.variants.map(variant => `${listAgents(variant.agents)} (time limit ${variant.timeoutSeconds} s)`).join('; ');
	return {
		operationId: uniqueId(`runScript_${script.name.replaceAll(/[^a-z0-9]/g, '_')}`, usedIds),
		summary: first?.description || `Run ${script.name}`,
		description: `${descriptions.join('\n\n')}${descriptions.length > 0 ? '\n\n' : ''}Runs \`${script.name}\` on the selected agents. On: ${where}.`,
		tags: ['scripts'],
		requestBody: {required: true, content: {'application/json': {schema: refer(scriptRunBodySchema(args))}}},
		responses: responses(route),
	};
}

function listAgents(agents: readonly string[]): string {
	return agents.length <= 10 ? agents.join(', ') : `${agents.slice(0, 10).join(', ')} and ${agents.length - 10} more`;
}

function uniqueId(base: string, used: Set<string>): string {
	let id = base;
	for (let index = 2; used.has(id); index++) {
		id = `${base}_${index}`;
	}

	used.add(id);
	return id;
}

function properties(schema: JsonSchema | undefined): Record<string, JsonSchema> {
	return (schema?.['properties'] as Record<string, JsonSchema> | undefined) ?? {};
}

const names = new Map<unknown, string>(Object.entries(namedSchemas).map(([name, schema]) => [schema, name]));

/**
 * A copy of `schema` where every shared schema object (by identity) is a `$ref` to its component,
 * except `self` (the component being defined).
 */
function refer(schema: JsonSchema, self?: JsonSchema): JsonSchema {
	const walk = (value: unknown): unknown => {
		if (Array.isArray(value)) {
			return value.map(walk);
		}

		if (typeof value !== 'object' || value === null) {
			return value;
		}

		if (value !== self && names.has(value)) {
			return {$ref: `#/components/schemas/${names.get(value)!}`};
		}

		return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, walk(child)]));
	};

	return walk(schema) as JsonSchema;
}

/** Removes the components nothing refers to (a generated client would carry types for nothing). */
function dropUnused(components: Record<string, unknown>, paths: Record<string, unknown>): void {
	for (let removed = true; removed;) {
		removed = false;
		const text = JSON.stringify({paths, components});
		for (const name of Object.keys(components)) {
			if (!text.includes(`"#/components/schemas/${name}"`)) {
				Reflect.deleteProperty(components, name);
				removed = true;
			}
		}
	}
}
