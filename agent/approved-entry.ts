/**
 * The agent's own check of what a two-person approval approved on this host: the run carries the
 * digest of this host's allowlist entry for the script as the approved plan holds it (the digest
 * of the entry as this agent described it, run/entry-digest.ts), and the entry as loaded now must
 * still have it. An entry edited (path, interpreter, runAs, schema, limits) or a script replaced
 * and the allowlist reloaded between the approval and the run is refused here, whatever the
 * controller checked before it sent the run. A run with an approval but no digest is refused too:
 * what was approved of this host cannot be checked. Pure.
 */
import type {ApprovalClaim} from '../source/protocol/frames.js';
import {describedEntryDigest} from '../source/run/entry-digest.js';
import {describeEntry} from './describe-entry.js';
import type {LoadedEntry} from './loaded-allowlist.js';

/** Undefined when the run carries no approval, or its entry digest is this entry's; else why not. */
export function approvedEntryProblem(approval: ApprovalClaim | undefined, loaded: LoadedEntry, agentName: string): string | undefined {
	if (!approval) {
		return undefined;
	}

	if (approval.entryDigest === undefined) {
		return `approval ${approval.id} names no digest of ${agentName}'s allowlist entry for ${loaded.name}, so what was approved cannot be checked here; ask for approval again`;
	}

	const now = describedEntryDigest(describeEntry(loaded));
	return now === approval.entryDigest
		? undefined
		: `approval ${approval.id} was given for another allowlist entry for ${loaded.name} on ${agentName} (approved ${approval.entryDigest.slice(0, 12)}…, now ${now.slice(0, 12)}…): the entry, its script or its interpreter changed since the approval; ask for approval again`;
}
