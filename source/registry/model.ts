/** The fleet as the controller knows it: one record per paired agent. Pure. */
import {XiError} from '../errors.js';
import {applyTagChange, type TagChange, type Tags} from '../policy/tags.js';

/** How the controller reaches an agent: direct mutual TLS, the NATS relay, or TLS with the relay as fallback. */
export type AgentTransport = 'tls' | 'nats' | 'both';
export const agentTransports: readonly AgentTransport[] = ['tls', 'nats', 'both'];

/** Which link an agent last answered over: direct TLS or the relay (an agent of transport both may use either). */
export type SeenVia = 'tls' | 'relay';
export const seenVias: readonly SeenVia[] = ['tls', 'relay'];

/** The link a run to an agent of this transport went over; unknown for both (it may have fallen back). */
export function seenViaOf(transport: AgentTransport | undefined): SeenVia | undefined {
	return transport === 'nats' ? 'relay' : transport === 'both' ? undefined : 'tls';
}

export type AgentRecord = {
	name: string;
	/** Where the controller dials: host:port. */
	address: string;
	/** Absent: tls. */
	transport?: AgentTransport;
	/** The broker (nats://HOST:PORT) an agent of transport nats or both is reached through. */
	relay?: string;
	tags: Tags;
	/** The agent certificate's serial (lower-case hex) and SHA-256 fingerprint. */
	serial: string;
	fingerprint: string;
	/** Validity of the current certificate (ISO 8601); `certificateIssued` is its notBefore. */
	certificateIssued?: string;
	certificateExpires: string;
	/** The agent's certificate (PEM): `audit verify --cross` checks its log's checkpoint signatures with it. */
	certificate?: string;
	/** Certificates it held before a renewal, so that older checkpoints still verify. */
	formerCertificates?: string[];
	pairedAt: string;
	lastSeen?: string;
	/** The link it answered over at lastSeen, when known. */
	lastSeenVia?: SeenVia;
};

/** An agent certificate the controller refuses wherever it is presented. */
export type RevokedSerial = {serial: string; agent: string; reason: 'unpaired' | 'renewed' | 'replaced'; at: string};

export type Registry = {version: 1; agents: AgentRecord[]; revoked?: RevokedSerial[]};

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
	const replaced = existing ? revoke(registry, {serial: existing.serial, agent: existing.name, reason: 'replaced', at: record.pairedAt}) : registry;
	return {...replaced, agents: [...others, record].sort((a, b) => a.name.localeCompare(b.name))};
}

function revoke(registry: Registry, entry: RevokedSerial): Registry {
	const revoked = registry.revoked ?? [];
	return revoked.some(item => item.serial === entry.serial) ? registry : {...registry, revoked: [...revoked, entry]};
}

export function revokedSerials(registry: Registry): Set<string> {
	return new Set((registry.revoked ?? []).map(entry => entry.serial));
}

/** Unpairing: the agent leaves the registry and its certificate is refused from now on. */
export function unpairAgent(registry: Registry, name: string, at: string): Registry {
	const agent = findAgent(registry, name);
	if (!agent) {
		throw new XiError('AGENT_UNKNOWN', `No agent named ${name} is registered; \`xi-exec agents\` lists them.`);
	}

	return revoke({...registry, agents: registry.agents.filter(item => item.name !== name)}, {serial: agent.serial, agent: name, reason: 'unpaired', at});
}

/** A renewal the agent confirmed: the new certificate is recorded and the old serial refused. */
export function recordRenewal(registry: Registry, name: string, renewed: {serial: string; fingerprint: string; notBefore: string; notAfter: string; certificate?: string}, at: string): Registry {
	const agent = findAgent(registry, name);
	if (!agent) {
		return registry; // Unpaired meanwhile: nothing to record.
	}

	const updated: AgentRecord = {
		...agent,
		serial: renewed.serial,
		fingerprint: renewed.fingerprint,
		certificateIssued: renewed.notBefore,
		certificateExpires: renewed.notAfter,
		...(renewed.certificate ? {certificate: renewed.certificate} : {}),
		// The log's earlier checkpoints were signed with the old key: keep its certificate for `audit verify --cross`.
		...(agent.certificate && renewed.certificate ? {formerCertificates: [...(agent.formerCertificates ?? []), agent.certificate]} : {}),
	};
	return revoke({...registry, agents: registry.agents.map(item => (item.name === name ? updated : item))}, {serial: agent.serial, agent: name, reason: 'renewed', at});
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

export function markSeen(registry: Registry, names: readonly string[], when: string, via?: SeenVia): Registry {
	const seen = new Set(names);
	return {...registry, agents: registry.agents.map(agent => {
		if (!seen.has(agent.name)) {
			return agent;
		}

		const {lastSeenVia: _earlier, ...rest} = agent;
		return {...rest, lastSeen: when, ...(via ? {lastSeenVia: via} : {})};
	})};
}

/** Checks a registry read from disk has the shape we wrote. */
export function parseRegistry(value: unknown): Registry | string {
	if (typeof value !== 'object' || value === null || (value as Registry).version !== 1 || !Array.isArray((value as Registry).agents)) {
		return 'expected {"version": 1, "agents": [...]}';
	}

	const {revoked} = value as Registry;
	if (revoked !== undefined && (!Array.isArray(revoked) || !revoked.every(entry => typeof entry?.serial === 'string' && typeof entry.agent === 'string'))) {
		return '"revoked" must be a list of {serial, agent, reason, at}';
	}

	for (const agent of (value as Registry).agents) {
		if (typeof agent?.name !== 'string' || typeof agent.address !== 'string' || typeof agent.serial !== 'string' || typeof agent.tags !== 'object' || agent.tags === null || Array.isArray(agent.tags)) {
			return `agent record ${JSON.stringify(agent?.name)} lacks name, address, serial or tags`;
		}

		if (agent.transport !== undefined && !agentTransports.includes(agent.transport)) {
			return `agent record ${JSON.stringify(agent.name)} has transport ${JSON.stringify(agent.transport)}; expected one of ${agentTransports.join(', ')}`;
		}

		if (agent.transport !== undefined && agent.transport !== 'tls' && typeof agent.relay !== 'string') {
			return `agent record ${JSON.stringify(agent.name)} has transport ${agent.transport} but no "relay" broker URL`;
		}
	}

	return value as Registry;
}
