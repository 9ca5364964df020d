/**
 * The agents view: every face that lists the fleet (`xi-exec agents --json`, GET /v1/agents)
 * shows each agent as this one document. The selected agents are asked what they run now, the
 * reachable ones are recorded as seen, and each is shown with its registry facts (address, tags,
 * certificate expiry), what it reported (its own tags, drift, reachability) and its scripts.
 * Being seen is one appended line of the registry's journal, not a rewrite of the registry.
 */
import type {Discovered} from '../dispatch/discover.js';
import {sameTags} from '../policy/tags.js';
import type {AgentRecord} from '../registry/model.js';
import type {RegistryStore} from '../registry/store.js';
import {compileAdvertisedSchema} from './advertised-schema.js';

export type AgentScriptView = {
	name: string;
	description: string;
	timeoutSeconds: number;
	/** The argument schema the agent advertises, as it advertises it. */
	args: unknown;
	/** Why the advertised schema cannot be used (the script is then refused), or null. */
	schemaProblem: string | null;
	maxTargets: number | null;
	confirm: boolean;
};

export type AgentView = {
	name: string;
	address: string;
	tags: Record<string, string>;
	/** The tags the agent reports about itself (null when it did not answer); the registry's decide. */
	reportedTags: Record<string, string> | null;
	/** Its own tags differ from the registry's. */
	drifted: boolean;
	status: Discovered['status'];
	/** Why it is not reachable, or null. */
	reason: string | null;
	lastSeen: string | null;
	certificateExpires: string;
	scripts: AgentScriptView[];
};

export type AgentsViewPorts = {
	registry: RegistryStore;
	/** Asks each agent what it runs now; one answer per agent, in order. */
	discover: (agents: readonly AgentRecord[]) => Promise<Discovered[]>;
	now: () => Date;
};

/**
 * The selected agents, each asked what it runs now; the reachable ones are recorded as seen (a
 * registry that cannot be written costs nothing but that). `showScript` hides scripts a token may
 * not see.
 */
export async function viewAgents(ports: AgentsViewPorts, agents: readonly AgentRecord[], showScript: (name: string) => boolean = () => true): Promise<{agents: AgentView[]; reachable: AgentRecord[]}> {
	const found = await ports.discover(agents);
	const now = ports.now().toISOString();
	const reachable = new Set(found.filter(agent => agent.status === 'reachable').map(agent => agent.name));
	await ports.registry.markSeen([...reachable], now).catch(() => undefined);
	return {
		agents: agents.map((agent, index) => agentView(agent, found[index]!, reachable.has(agent.name) ? now : agent.lastSeen, showScript)),
		reachable: agents.filter(agent => reachable.has(agent.name)),
	};
}

export function agentView(record: AgentRecord, found: Discovered, lastSeen: string | undefined, showScript: (name: string) => boolean): AgentView {
	return {
		name: record.name,
		address: record.address,
		tags: record.tags,
		reportedTags: found.reportedTags ?? null,
		drifted: found.reportedTags !== undefined && !sameTags(record.tags, found.reportedTags),
		status: found.status,
		reason: found.reason ?? null,
		lastSeen: lastSeen ?? null,
		certificateExpires: record.certificateExpires,
		scripts: found.scripts.filter(script => showScript(script.name)).map(script => {
			const compiled = script.args === undefined ? undefined : compileAdvertisedSchema(script.args);
			return {
				name: script.name,
				description: script.description,
				timeoutSeconds: script.timeoutSeconds,
				args: script.args ?? null,
				schemaProblem: compiled && !compiled.ok ? compiled.reason : null,
				maxTargets: script.maxTargets ?? null,
				confirm: script.confirm === true,
			};
		}),
	};
}
