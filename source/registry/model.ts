/** The fleet as the controller knows it: one record per paired agent. Pure. */
import {XiError} from '../errors.js';
import {applyTagChange, type TagChange, type Tags} from '../policy/tags.js';

export type AgentRecord = {
	name: string;
	/** Where the controller dials: host:port. */
	address: string;
	tags: Tags;
	/** The agent certificate's serial (lower-case hex) and SHA-256 fingerprint. */
	serial: string;
	fingerprint: string;
	certificateExpires: string;
	/** The agent's certificate (PEM): `audit verify --cross` checks its log's checkpoint signatures with it. */
	certificate?: string;
	/** Certificates it held before a renewal, so that older checkpoints still verify. */
	formerCertificates?: string[];
	pairedAt: string;
	lastSeen?: string;
};

export type Registry = {version: 1; agents: AgentRecord[]};

export const emptyRegistry = (): Registry => ({version: 1, agents: []});

export function findAgent(registry: Registry, name: string): AgentRecord | undefined {
	return registry.agents.find(agent => agent.name === name);
}

export function addAgent(registry: Registry, record: AgentRecord, options: {replace?: boolean} = {}): Registry {
	const existing = findAgent(registry, record.name);
	if (existing && !options.replace) {
		throw new XiError('AGENT_EXISTS', `An agent named ${record.name} is already paired; unpair it first or pair again with --replace.`);
	}

	const others = registry.agents.filter(agent => agent.name !== record.name);
	return {...registry, agents: [...others, record].sort((a, b) => a.name.localeCompare(b.name))};
}

export function removeAgent(registry: Registry, name: string): Registry {
	if (!findAgent(registry, name)) {
		throw new XiError('AGENT_UNKNOWN', `No agent named ${name} is registered; \`xi-exec agents\` lists them.`);
	}

	return {...registry, agents: registry.agents.filter(agent => agent.name !== name)};
}

/**
 * Changes one agent's tags (the registry's are authoritative: they decide token scopes and
 * selectors). Refuses an unknown agent and a key to remove that is not there.
 */
export function changeAgentTags(registry: Registry, name: string, change: TagChange): {registry: Registry; before: Tags; after: Tags} {
	const agent = findAgent(registry, name);
	if (!agent) {
		throw new XiError('AGENT_UNKNOWN', `No agent named ${JSON.stringify(name)} is registered; \`xi-exec agents\` lists them.`);
	}

	const applied = applyTagChange(agent.tags, change);
	if (!applied.ok) {
		throw new XiError('TAG_INVALID', `${name}: ${applied.reason}.`);
	}

	return {
		registry: {...registry, agents: registry.agents.map(other => (other.name === name ? {...other, tags: applied.tags} : other))},
		before: agent.tags,
		after: applied.tags,
	};
}

export function markSeen(registry: Registry, names: readonly string[], when: string): Registry {
	const seen = new Set(names);
	return {...registry, agents: registry.agents.map(agent => (seen.has(agent.name) ? {...agent, lastSeen: when} : agent))};
}

/** Checks a registry read from disk has the shape we wrote. */
export function parseRegistry(value: unknown): Registry | string {
	if (typeof value !== 'object' || value === null || (value as Registry).version !== 1 || !Array.isArray((value as Registry).agents)) {
		return 'expected {"version": 1, "agents": [...]}';
	}

	for (const agent of (value as Registry).agents) {
		if (typeof agent?.name !== 'string' || typeof agent.address !== 'string' || typeof agent.serial !== 'string' || typeof agent.tags !== 'object' || agent.tags === null || Array.isArray(agent.tags)) {
			return `agent record ${JSON.stringify(agent?.name)} lacks name, address, serial or tags`;
		}
	}

	return value as Registry;
}
