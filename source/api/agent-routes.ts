/**
 * GET /v1/agents: the registered agents within the token's scope, each asked what it runs now,
 * as the agents view `xi-exec agents --json` prints (source/core/agents-view.ts).
 */
import {viewAgents} from '../core/agents-view.js';
import {scopeAllowsScript} from '../policy/tokens.js';
import type {AgentRecord} from '../registry/model.js';
import {selectWithinScope, tokenCaller} from './caller-scope.js';
import type {ApiPorts, Handler, RouteFile} from './route-file.js';
import {errorResponses, type RouteSpec} from './route-spec.js';
import * as s from './schemas.js';

const routes: readonly RouteSpec[] = [
	{
		method: 'GET', url: '/v1/agents', access: 'token', operationId: 'listAgents', tag: 'discovery',
		summary: 'Registered agents, each asked what it runs now',
		description: 'Every registered agent matching `on` with its address, tags (and drift from the tags it reports), reachability, last seen, certificate expiry and scripts.',
		schema: {querystring: s.agentsQuerySchema, response: {200: s.agentListSchema, ...errorResponses}},
	},
];

function handlers(ports: ApiPorts): Record<string, Handler> {
	return {
		async listAgents(request, _reply, caller) {
			const {scope} = tokenCaller(caller);
			const query = request.query as {on?: string | string[]; timeoutSeconds: number};
			const {agents} = await selectWithinScope(ports.registry, scope, query.on);
			const discover = async (selected: readonly AgentRecord[]) => ports.discovery.discover(selected, {maxAgeMs: 0, timeoutMs: query.timeoutSeconds * 1000});
			const view = await viewAgents({registry: ports.registry, discover, now: ports.now}, agents, script => scopeAllowsScript(scope, script));
			return {agents: view.agents};
		},
	};
}

export const agentRoutes: RouteFile = {routes, handlers};
