/**
 * The agent's check of a run the controller planned from its cache of this agent's last
 * description instead of asking first (the one-shot's saved round trip): the run carries the
 * digest of the entry the controller planned with (run/entry-digest.ts), and the entry as loaded
 * now must still have it. Its limits, schema and files are what the controller checked the run
 * against (maxTargets, confirm, secret arguments) and recorded in the plan's hash; an entry edited
 * or reloaded since is refused here, before any other check of the run, and the controller asks
 * again. A run without the field was planned from a live description and is not concerned. Pure.
 */
import {describedEntryDigest} from '../source/run/entry-digest.js';
import {describeEntry} from './describe-entry.js';
import type {LoadedEntry} from './loaded-allowlist.js';

/** Undefined when the run carries no planned digest, or it is this entry's; else why not. */
export function plannedEntryProblem(planned: string | undefined, loaded: LoadedEntry, agentName: string): string | undefined {
	if (planned === undefined) {
		return undefined;
	}

	const now = describedEntryDigest(describeEntry(loaded));
	return now === planned
		? undefined
		: `the controller planned this run with another allowlist entry for ${loaded.name} on ${agentName} (planned ${planned.slice(0, 12)}…, now ${now.slice(0, 12)}…): its description of this agent is out of date; nothing ran`;
}
