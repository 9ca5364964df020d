/**
 * One projection of an agent for every face: `xi-exec agents --json`, GET /v1/agents, MCP
 * `list_agents` and the console's fleet show the same fixture as the same core view
 * (core/agents-view.ts). MCP adds only
 * what is its own (each script's tool, read-only) and makes agent-supplied text one visible line;
 * on clean text its agents are the REST API's, field for field.
 */
import test from 'ava';
import {agentRoutes} from '../../source/api/agent-routes.js';
import type {ApiPorts} from '../../source/api/route-file.js';
import {agentViews, viewAgents, type AgentView} from '../../source/core/agents-view.js';
import type {Discovered} from '../../source/dispatch/discover.js';
import {Ajv2020} from 'ajv/dist/2020.js';
import {agentListSchema, type McpAgentView} from '../../source/mcp/agent-answers.js';
import {listAgentsTool} from '../../source/mcp/agent-tools.js';
import type {SessionContext} from '../../source/mcp/session-context.js';
import type {TokenScope} from '../../source/policy/tokens.js';
import type {AgentRecord, Registry} from '../../source/registry/model.js';
import type {RegistryStore} from '../../source/registry/store.js';
import {importsOf} from '../architecture/import-graph.js';
import {discoverFleetViews} from '../../source/ui/fleet-views.js';
import {initialFleetState, reduceFleet, type FleetAction} from '../../source/ui/screens/fleet/use-fleet-state.js';

const now = new Date('2026-03-01T12:00:00.000Z');
const record = (name: string, changes: Partial<AgentRecord> = {}): AgentRecord => ({name, address: '127.0.0.1:7441', tags: {env: 'staging'}, serial: '1a', fingerprint: 'ab'.repeat(32), certificateExpires: '2027-01-01T00:00:00.000Z', pairedAt: '2026-01-01T00:00:00.000Z', ...changes});
const agents = [
	record('web1'),
	record('web2', {transport: 'both', relay: 'nats://127.0.0.1:4222', lastSeen: '2026-02-28T12:00:00.000Z', lastSeenVia: 'relay'}),
];
const found: Discovered[] = [
	{name: 'web1', address: '127.0.0.1:7441', status: 'reachable', via: 'tls', reportedTags: {env: 'prod'}, scripts: [
		{name: 'check-service', description: 'Check a service', timeoutSeconds: 30, args: {type: 'array', prefixItems: [{enum: ['nginx']}]}, readOnly: true},
		{name: 'deploy', description: 'Deploy', timeoutSeconds: 600, confirm: true, maxTargets: 2},
		{name: 'hidden', description: 'Not in scope', timeoutSeconds: 5},
	]},
	{name: 'web2', address: '127.0.0.1:7441', status: 'unreachable', reason: 'no answer within 3 s', scripts: []},
];
const scope: TokenScope = {id: 't1', name: 'ops', scripts: ['check-service', 'deploy'], on: ['all'], expiresAt: null};
const registry = {read: async () => ({agents}) as unknown as Registry, markSeen: async () => undefined} as unknown as RegistryStore;
const discover = async (selected: readonly AgentRecord[]) => selected.map(agent => found.find(entry => entry.name === agent.name)!);

async function restAgents(): Promise<AgentView[]> {
	const ports = {registry, discovery: {discover}, now: () => now} as unknown as ApiPorts;
	const answer = await agentRoutes.handlers(ports)['listAgents']!({query: {timeoutSeconds: 3}} as never, {} as never, {kind: 'token', scope, token: 'x'});
	return (answer as {agents: AgentView[]}).agents;
}

async function mcpAgents() {
	const session = {
		ports: {registry, discovery: {discover}, discoveryMaxAgeMs: 5000, now: () => now},
		inScope: async () => agents,
		toolSet: async () => ({set: {scripts: new Map([['check_service', {script: 'check-service', tool: 'check_service'}], ['deploy', {script: 'deploy', tool: 'deploy'}]]), hidden: [], tools: []}, found}),
	} as unknown as SessionContext;
	const answer = await listAgentsTool(session, scope, undefined);
	return answer.structuredContent as {agents: McpAgentView[]; hidden: unknown[]};
}

test('the REST API answers the core view of each agent, the scripts the token may call only', async t => {
	const expected = agentViews(agents, found, now.toISOString(), script => script !== 'hidden');
	t.deepEqual(await restAgents(), expected);
	t.deepEqual((await viewAgents({registry, discover, now: () => now}, agents, script => script !== 'hidden')).agents, expected);
	t.deepEqual(expected.map(view => [view.name, view.status, view.drifted, view.lastSeen, view.lastSeenVia, view.scripts.map(script => script.name)]), [
		['web1', 'reachable', true, now.toISOString(), 'tls', ['check-service', 'deploy']],
		['web2', 'unreachable', false, '2026-02-28T12:00:00.000Z', 'relay', []],
	]);
});

test('MCP list_agents is the REST API\'s view plus each script\'s tool and read-only declaration', async t => {
	const rest = await restAgents();
	const answer = await mcpAgents();
	// What the SDK checks before a client sees it: the tool's published output schema.
	const validate = new Ajv2020({strict: false}).compile(agentListSchema);
	t.true(validate(answer), JSON.stringify(validate.errors));
	const mcp = answer.agents;
	t.deepEqual(mcp.map(agent => ({...agent, scripts: agent.scripts.map(({tool: _tool, readOnly: _readOnly, ...script}) => script)})), rest);
	t.deepEqual(mcp[0]!.scripts.map(script => [script.name, script.tool, script.readOnly]), [['check-service', 'check_service', true], ['deploy', 'deploy', false]]);
});

test('the console\'s fleet shows the REST API\'s view of each agent, field for field, each as it answers', async t => {
	const told: AgentView[] = [];
	const marked: string[][] = [];
	const seen = {...registry, markSeen: async (names: readonly string[]) => {
		marked.push([...names]);
	}} as unknown as RegistryStore;
	// The console's discovery tells each agent as it answers: here web2 before web1.
	const streamed = async (selected: readonly AgentRecord[], onFound: (found: Discovered) => void) => {
		const answers = await discover(selected);
		for (const answer of [...answers].reverse()) {
			onFound(answer);
		}

		return answers;
	};

	await discoverFleetViews({registry: seen, discover: streamed, now: () => now}, agents, view => told.push(view));
	// The console is the operator's own: no token hides a script from it.
	const rest = agentViews(agents, found, now.toISOString());
	t.deepEqual(told, [rest[1], rest[0]]);
	t.deepEqual(marked.filter(names => names.length > 0), [['web1']], 'the reachable ones are recorded as seen, as `agents` records them');
	const fleet = [{type: 'agents-loaded', agents} as FleetAction, ...told.map((view): FleetAction => ({type: 'agent-discovered', view}))].reduce(reduceFleet, initialFleetState);
	t.deepEqual(fleet.agents, rest, 'the fleet screen holds the views themselves');
	const withoutHidden = await restAgents();
	t.deepEqual(fleet.agents.map(agent => ({...agent, scripts: agent.scripts.filter(script => script.name !== 'hidden')})), withoutHidden, 'and they are the REST API\'s, but for the token\'s scope');
});

test('every face that lists agents gets them from core/agents-view.ts', t => {
	for (const face of ['source/commands/agents.ts', 'source/api/agent-routes.ts', 'source/mcp/agent-tools.ts', 'source/ui/fleet-views.ts', 'source/ui/screens/fleet/use-fleet-state.ts']) {
		t.true(importsOf(face).includes('source/core/agents-view.js'), face);
	}
});
