/**
 * What a host's allowlist entry for a script said when a plan was made, as one digest per host:
 * SHA-256 over the canonical JSON of the entry as the host described it (its description,
 * timeout, schema, limits and, from agents that give it, the agent's own digest of the entry's
 * path, users and files). A plan keeps these, so its hash changes when any host's entry does.
 * Pure.
 */
import {createHash} from 'node:crypto';
import {canonical} from '../audit/record.js';
import type {ScriptDescription} from '../protocol/frames.js';

export type DescribedHost = {name: string; status: string; scripts: readonly ScriptDescription[]};

/** By host name: the digest of its entry for `script`; null when the host did not answer or has no such entry. */
export function entryDigests(script: string, targets: ReadonlyArray<{name: string}>, found: readonly DescribedHost[]): Record<string, string | null> {
	const byName = new Map(found.map(host => [host.name, host]));
	return Object.fromEntries(targets.map(target => {
		const host = byName.get(target.name);
		const entry = host?.status === 'reachable' ? host.scripts.find(candidate => candidate.name === script) : undefined;
		return [target.name, entry ? describedEntryDigest(entry) : null];
	}));
}

export function describedEntryDigest(entry: ScriptDescription): string {
	return createHash('sha256').update('xi-exec described entry v1\n').update(canonical(entry)).digest('hex');
}
