/**
 * What an approval is bound to: the hash of the run plan itself (run/plan.ts) — the one recorded
 * as `planHash` in `run.request` and sent to the agents with the approval. It covers the script,
 * the arguments, the exact hosts with their addresses in the order they start (a shuffled order
 * is drawn from the request id, so it is the same when resolved again), what each host's
 * allowlist entry for the script said (its digest, which covers the entry's path, users and files
 * on agents that give one), the rollout, the caller and token, and a runbook step's file. A host
 * joining or leaving, an allowlist entry, the arguments or the runbook file changing all change
 * it. Pure.
 */
import {planHash, type RunPlan} from '../run/plan.js';

export type DescribedEntries = ReadonlyMap<string, unknown>;

/**
 * The hash of a plan resolved again for a stored one: the requester's token is not presented
 * again (an approver does not hold it), so the stored token's scope stands in for it.
 */
export function reboundHash(stored: RunPlan, resolved: RunPlan): string {
	const {hash: _hash, version: _version, ...content} = resolved;
	return planHash({...content, ...(stored.token ? {token: stored.token} : {})});
}

/**
 * Why a stored plan is not the one its request was bound to (approvals.json edited by hand, or
 * written by a version whose plans hashed differently), or undefined when it is.
 */
export function storedPlanProblem(stored: RunPlan | undefined, boundHash: string): string | undefined {
	if (!stored) {
		return 'no stored plan';
	}

	const {hash: _hash, version: _version, ...content} = stored;
	let again: string;
	try {
		again = planHash(content);
	} catch {
		return 'the stored plan is malformed (changed on disk, or stored by another version)';
	}

	return again === boundHash && stored.hash === boundHash ? undefined : `the stored plan hashes to ${again.slice(0, 12)}, not to the approved ${boundHash.slice(0, 12)} (changed on disk, or stored by another version)`;
}

/** Each host's allowlist entry for the script, as discovery answered. */
export function entriesFor(script: string, found: ReadonlyArray<{name: string; status: string; scripts: ReadonlyArray<{name: string}>}>): Map<string, unknown> {
	return new Map(found.map(agent => [agent.name, agent.status === 'reachable' ? agent.scripts.find(entry => entry.name === script) ?? null : null]));
}

/** Whether some host's entry declares `confirm`. */
export function declaresConfirm(entries: DescribedEntries): boolean {
	return [...entries.values()].some(entry => (entry as {confirm?: unknown} | null)?.confirm === true);
}

/**
 * What differs between the approved plan and the plan resolved now, in words, for the refusal and
 * its audit record: hosts that joined or left, moved, changed their entry for the script, the
 * runbook file, the arguments; anything else the hash covers (order, rollout, limits, token).
 */
export function planDifferences(approved: RunPlan, now: RunPlan): string[] {
	const before = new Map(approved.targets.map(target => [target.name, target]));
	const after = new Map(now.targets.map(target => [target.name, target]));
	const names = (list: string[]) => list.join(', ');
	const joined = [...after.keys()].filter(name => !before.has(name));
	const left = [...before.keys()].filter(name => !after.has(name));
	const moved = [...after.values()].filter(target => before.has(target.name) && before.get(target.name)!.address !== target.address).map(target => target.name);
	const entries = [...after.keys()].filter(name => before.has(name) && (approved.entries?.[name] ?? null) !== (now.entries?.[name] ?? null));
	const found = [
		...(joined.length > 0 ? [`${names(joined)} joined`] : []),
		...(left.length > 0 ? [`${names(left)} left`] : []),
		...(moved.length > 0 ? [`${names(moved)} moved to another address`] : []),
		...(entries.length > 0 ? [`the allowlist entry for ${approved.script} changed on ${names(entries)}`] : []),
		...(approved.runbookFile?.sha256 === now.runbookFile?.sha256 ? [] : [`${approved.runbookFile?.file ?? 'the runbook file'} changed (SHA-256 ${approved.runbookFile?.sha256.slice(0, 12) ?? '?'}… then, ${now.runbookFile?.sha256.slice(0, 12) ?? '?'}… now)`]),
		...(approved.script === now.script && approved.args.join('\0') === now.args.join('\0') ? [] : ['the script or its arguments differ']),
	];
	return found.length > 0 ? found : ['the hosts\' order, the rollout, the limits or the token differ'];
}
