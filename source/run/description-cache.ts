/**
 * The controller's memory of what each agent last described (its allowlist entries), so that a
 * one-shot run can be planned without asking first: one round trip less. Only what an agent said
 * over direct TLS, with its certificate serial and address then, and only from agents that refuse
 * a run planned with another entry than theirs (`checksEntry`): the plan sends the digest of the
 * cached entry (`entryDigest`), and the agent refuses the run when its entry changed since, before
 * anything of it runs (agent/planned-entry.ts), so a stale or altered cache can cost a retry but
 * never run anything against another entry. A re-paired agent (another serial or address) is
 * unknown again. Pure; core/description-file.ts keeps it on disk.
 */
import type {ScriptDescription} from '../protocol/frames.js';

/** An agent's answer to a describe, as discovery reports it (dispatch/discover.ts). */
export type DescribeAnswer = {name: string; status: 'reachable' | 'unreachable'; scripts: readonly ScriptDescription[]; via?: 'tls' | 'relay'; checksEntry?: true};

export type CachedAgent = {serial: string; address: string; at: string; scripts: ScriptDescription[]};
export type DescriptionCache = {version: 1; agents: Record<string, CachedAgent>};

export const emptyDescriptionCache: DescriptionCache = {version: 1, agents: {}};

/** What the cache needs of a registry record. */
export type CacheKey = {name: string; serial: string; address: string; transport?: string};

/** The entry `agent` described for `script`, when its description is cached for the same certificate and address. */
export function cachedEntry(cache: DescriptionCache, agent: CacheKey, script: string): ScriptDescription | undefined {
	const known = Object.hasOwn(cache.agents, agent.name) ? cache.agents[agent.name] : undefined;
	if (!known || known.serial !== agent.serial || known.address !== agent.address || (agent.transport ?? 'tls') !== 'tls') {
		return undefined;
	}

	return known.scripts.find(entry => entry.name === script);
}

/** The cache with what these agents answered now: a reachable one that checks entries replaces its record; any other is forgotten. */
export function rememberDescriptions(cache: DescriptionCache, found: readonly DescribeAnswer[], agents: readonly CacheKey[], at: string): DescriptionCache {
	const byName = new Map(agents.map(agent => [agent.name, agent]));
	const answered = new Set(found.map(answer => answer.name));
	const next = new Map(Object.entries(cache.agents).filter(([name]) => !answered.has(name)));
	for (const answer of found) {
		const agent = byName.get(answer.name);
		if (agent && answer.status === 'reachable' && answer.checksEntry && answer.via === 'tls' && (agent.transport ?? 'tls') === 'tls') {
			next.set(answer.name, {serial: agent.serial, address: agent.address, at, scripts: [...answer.scripts]});
		}
	}

	return {version: 1, agents: Object.fromEntries(next)};
}

/** The cache without `name`'s description (its agent refused a run planned from it). */
export function forgetDescription(cache: DescriptionCache, name: string): DescriptionCache {
	return {version: 1, agents: Object.fromEntries(Object.entries(cache.agents).filter(([known]) => known !== name))};
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
			&& agent.scripts.every(entry => typeof entry?.name === 'string' && typeof entry.description === 'string' && typeof entry.timeoutSeconds === 'number')) {
			agents[name] = agent;
		}
	}

	return {version: 1, agents};
}
