/**
 * The console's discovery: each agent asked what it runs now, told to the fleet as it answers
 * (a slow host does not hold the others back) as the core's agents view — the same document,
 * built by the same function (core/agents-view.ts), that `agents --json`, GET /v1/agents and MCP
 * `list_agents` give — and, once all have answered, the reachable ones recorded as seen, as
 * `xi-exec agents` records them.
 */
import {agentViews, viewAgents, type AgentView} from '../core/agents-view.js';
import type {Discovered} from '../dispatch/discover.js';
import type {AgentRecord} from '../registry/model.js';
import type {RegistryStore} from '../registry/store.js';

export type FleetViewPorts = {
	registry: RegistryStore;
	/** Asks the agents, calling `onFound` as each answers; one answer per agent, in order. */
	discover: (agents: readonly AgentRecord[], onFound: (found: Discovered) => void) => Promise<Discovered[]>;
	now: () => Date;
};

export async function discoverFleetViews(ports: FleetViewPorts, agents: readonly AgentRecord[], onView: (view: AgentView) => void): Promise<void> {
	const records = new Map(agents.map(agent => [agent.name, agent]));
	const discover = async (selected: readonly AgentRecord[]) => ports.discover(selected, found => {
		const record = records.get(found.name);
		if (record) {
			// With the relay's presence heartbeats (xi-exec serve counts them), as viewAgents reads them.
			onView(agentViews([record], [found], ports.now().toISOString(), () => true, ports.registry.presence?.())[0]!);
		}
	});
	await viewAgents({registry: ports.registry, discover, now: ports.now}, agents);
}
