/** GET /v1/agents: the registered agents within the token's scope, each asked what it runs now. */
import {scopeAllowsScript} from '../policy/tokens.js';
import {markSeen} from '../registry/model.js';
import {selectWithinScope, tokenCaller} from './caller-scope.js';
import type {ApiPorts, Handler, RouteFile} from './route-file.js';
import {errorResponses, type RouteSpec} from './route-spec.js';
import * as s from './schemas.js';
import {agentView} from './views.js';

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
			const found = await ports.discovery.discover(agents, {maxAgeMs: 0, timeoutMs: query.timeoutSeconds * 1000});
			const now = ports.now().toISOString();
			const reachable = found.filter(agent => agent.status === 'reachable').map(agent => agent.name);
			await ports.registry.update(registry => markSeen(registry, reachable, now)).catch(() => undefined);
			return {agents: agents.map((agent, index) => agentView(agent, found[index]!, reachable.includes(agent.name) ? now : agent.lastSeen, script => scopeAllowsScript(scope, script)))};
		},
	};
}

export const agentRoutes: RouteFile = {routes, handlers};
