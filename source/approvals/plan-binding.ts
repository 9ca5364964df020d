/**
 * What an approval is bound to: the plan's own canonical document (run/plan.ts: script,
 * arguments' hash, hosts with their addresses, rollout, timeouts, caller, token) with its hosts in
 * name order (a shuffled rollout reorders them each time it is resolved), plus what each host's
 * allowlist entry for the script said when the plan was resolved (description, argument schema,
 * maxTargets, confirm; null for a host that did not answer or has no such entry). A host joining
 * or leaving, its address, an allowlist entry or the arguments changing all change the hash. Pure.
 */
import {createHash} from 'node:crypto';
import {canonical} from '../audit/record.js';
import {planDocument, type PlanContent} from '../run/plan.js';

export type DescribedEntries = ReadonlyMap<string, unknown>;

export function approvalPlanHash(plan: PlanContent, entries: DescribedEntries): string {
	const targets = [...plan.targets].sort((a, b) => a.name.localeCompare(b.name));
	const document = {
		plan: planDocument({...plan, targets}),
		entries: Object.fromEntries(targets.map(target => [target.name, entries.get(target.name) ?? null])),
	};
	return createHash('sha256').update('xi-exec approval plan v1\n').update(canonical(document)).digest('hex');
}

/** Each host's allowlist entry for the script, as discovery answered. */
export function entriesFor(script: string, found: ReadonlyArray<{name: string; status: string; scripts: ReadonlyArray<{name: string}>}>): Map<string, unknown> {
	return new Map(found.map(agent => [agent.name, agent.status === 'reachable' ? agent.scripts.find(entry => entry.name === script) ?? null : null]));
}

/** Whether some host's entry declares `confirm`. */
export function declaresConfirm(entries: DescribedEntries): boolean {
	return [...entries.values()].some(entry => (entry as {confirm?: unknown} | null)?.confirm === true);
}
