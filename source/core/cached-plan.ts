/**
 * A run planned from the agents' cached descriptions (run/description-cache.ts) instead of asking
 * each first: every target whose entry for the script is cached for its certificate and its way
 * of reaching it is planned from that entry, and only the others are described live (whose
 * answers are remembered for the next run). Only a run without arguments: which arguments are
 * secret must be known from a live schema before the request is recorded. A revoked serial is
 * never planned from the cache (it is described, and refused, live). The agents check the cached
 * entry's digest before anything of the run runs (agent/planned-entry.ts); one that refuses it is
 * described and planned again by core/plan-refresh.ts.
 */
import type {DescribeTargets} from '../dispatch/secret-targets.js';
import type {Discovered} from '../dispatch/discover.js';
import type {ScriptDescription} from '../protocol/frames.js';
import type {AgentRecord} from '../registry/model.js';
import {cachedEntry, rememberDescriptions} from '../run/description-cache.js';
import type {DescriptionFile} from './description-file.js';

/** The targets' cached entries for `script`, by name (empty when none is, or the run has arguments). */
export function cachedEntries(file: DescriptionFile | undefined, script: string, args: readonly string[], targets: readonly AgentRecord[], revoked: ReadonlySet<string>): Map<string, ScriptDescription> {
	const found = new Map<string, ScriptDescription>();
	if (!file || args.length > 0 || targets.length === 0) {
		return found;
	}

	const cache = file.read();
	for (const target of targets) {
		const entry = revoked.has(target.serial) ? undefined : cachedEntry(cache, target, script);
		if (entry) {
			found.set(target.name, entry);
		}
	}

	return found;
}

/** The describe a plan asks: the cached answers for the hosts in `cached`, a live describe of the rest (none when every host is cached). */
export function withCached(cached: ReadonlyMap<string, ScriptDescription>, live: DescribeTargets): DescribeTargets {
	return async targets => {
		const rest = targets.filter(target => !cached.has(target.name));
		const asked = rest.length > 0 ? await live(rest) : [];
		const byName = new Map(asked.map(answer => [answer.name, answer]));
		return targets.flatMap((target): Discovered[] => {
			const entry = cached.get(target.name);
			const answer = entry ? {name: target.name, address: target.address, status: 'reachable' as const, scripts: [entry], checksEntry: true as const} : byName.get(target.name);
			return answer ? [answer] : [];
		});
	};
}

/** A live describe of a run without arguments, remembered in the description cache for the next one. */
export function remembered(describe: DescribeTargets, file: DescriptionFile | undefined, args: readonly string[], now: () => Date): DescribeTargets {
	return async targets => {
		const found = await describe(targets);
		if (file && args.length === 0 && found.length > 0) {
			try {
				file.change(cache => rememberDescriptions(cache, found, targets as AgentRecord[], now().toISOString()));
			} catch {
				// Only a shortcut: the next run asks again.
			}
		}

		return found;
	};
}
