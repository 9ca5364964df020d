/**
 * The controller's memory of what each agent last described (its allowlist entries), so that a
 * run without arguments can be planned without asking first: one round trip less per host. Only
 * what an agent that refuses a run planned with another entry than its own (`checksEntry`) said,
 * over direct TLS or the relay, kept with the way it was reached then: its certificate serial,
 * its transport, and its address (direct TLS) or its relay's URL (the relay), both for an agent of
 * transport `both`. The plan sends the digest of the cached entry (`entryDigest`), and the agent
 * refuses the run when its entry changed since, before anything of it runs
 * (agent/planned-entry.ts), so a stale or altered cache can cost a second exchange but never run
 * anything on a host against another entry than its own. That promise is host by host: a limit of
 * the whole run (maxTargets, confirm) newly declared by one host does not stop the others, which a
 * live plan would have (README). A re-paired agent (another serial), a moved one (another
 * address or relay) or one whose transport changed is unknown again. Pure;
 * core/description-file.ts keeps it on disk.
 */
import type {ScriptDescription} from '../protocol/frames.js';

/** An agent's answer to a describe, as discovery reports it (dispatch/discover.ts). */
export type DescribeAnswer = {name: string; status: 'reachable' | 'unreachable'; scripts: readonly ScriptDescription[]; via?: 'tls' | 'relay'; checksEntry?: true};

/** `transport` and `relay` only for an agent reached through the relay (nats, or both): a direct-TLS record is as before. */
export type CachedAgent = {serial: string; address: string; transport?: 'nats' | 'both'; relay?: string; at: string; scripts: ScriptDescription[]};
export type DescriptionCache = {version: 1; agents: Record<string, CachedAgent>};

export const emptyDescriptionCache: DescriptionCache = {version: 1, agents: {}};

/** What the cache needs of a registry record. */
export type CacheKey = {name: string; serial: string; address: string; transport?: 'tls' | 'nats' | 'both'; relay?: string};

/** The entry `agent` described for `script`, when its description is cached for the same certificate and the same way of reaching it. */
export function cachedEntry(cache: DescriptionCache, agent: CacheKey, script: string): ScriptDescription | undefined {
	const known = Object.hasOwn(cache.agents, agent.name) ? cache.agents[agent.name] : undefined;
	return known && sameWay(known, agent) ? known.scripts.find(entry => entry.name === script) : undefined;
}

/** The same certificate, transport, and address or relay (whichever the transport uses; both for `both`). */
function sameWay(known: CachedAgent, agent: CacheKey): boolean {
	const transport = agent.transport ?? 'tls';
	if (known.serial !== agent.serial || (known.transport ?? 'tls') !== transport) {
		return false;
	}

	const addressOk = transport === 'nats' || known.address === agent.address;
	const relayOk = transport === 'tls' || (agent.relay !== undefined && known.relay === agent.relay);
	return addressOk && relayOk;
}

/** The cache with what these agents answered now: a reachable one that checks entries replaces its record; any other is forgotten. */
export function rememberDescriptions(cache: DescriptionCache, found: readonly DescribeAnswer[], agents: readonly CacheKey[], at: string): DescriptionCache {
	const byName = new Map(agents.map(agent => [agent.name, agent]));
	const answered = new Set(found.map(answer => answer.name));
	const next = new Map(Object.entries(cache.agents).filter(([name]) => !answered.has(name)));
	for (const answer of found) {
		const agent = byName.get(answer.name);
		if (agent && answer.status === 'reachable' && answer.checksEntry && answer.via !== undefined) {
			next.set(answer.name, cachedRecord(agent, at, answer.scripts));
		}
	}

	return {version: 1, agents: Object.fromEntries(next)};
}

function cachedRecord(agent: CacheKey, at: string, scripts: readonly ScriptDescription[]): CachedAgent {
	const {serial, address, transport, relay} = agent;
	return transport === 'nats' || transport === 'both'
		? {serial, address, transport, ...(relay === undefined ? {} : {relay}), at, scripts: [...scripts]}
		: {serial, address, at, scripts: [...scripts]};
}

/** The cache without these agents' descriptions (their agents refused a run planned from them). */
export function forgetDescription(cache: DescriptionCache, ...names: string[]): DescriptionCache {
	const forgotten = new Set(names);
	return {version: 1, agents: Object.fromEntries(Object.entries(cache.agents).filter(([known]) => !forgotten.has(known)))};
}

/** A cache read from disk, or the empty cache when it is not one (it is only ever a shortcut). */
export function parseDescriptionCache(value: unknown): DescriptionCache {
	const candidate = value as Partial<DescriptionCache> | null;
	if (typeof candidate !== 'object' || candidate === null || candidate.version !== 1 || typeof candidate.agents !== 'object' || candidate.agents === null) {
		return emptyDescriptionCache;
	}

	const agents: Record<string, CachedAgent> = {};
	for (const [name, agent] of Object.entries(candidate.agents)) {
		if (typeof agent?.serial === 'string' && typeof agent.address === 'string' && typeof agent.at === 'string' && Array.isArray(agent.scripts)
			&& (agent.transport === undefined || agent.transport === 'nats' || agent.transport === 'both') && (agent.relay === undefined || typeof agent.relay === 'string')
			&& agent.scripts.every(entry => typeof entry?.name === 'string' && typeof entry.description === 'string' && typeof entry.timeoutSeconds === 'number')) {
			agents[name] = agent;
		}
	}

	return {version: 1, agents};
}
