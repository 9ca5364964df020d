/**
 * What a resumed runbook run should say about its hosts. Every run fixes each step's hosts when
 * it is checked (the pinning rule: a step runs on the hosts its selector matched then, whatever
 * is paired or retagged while it runs), and `--resume` checks the runbook again against the fleet
 * as it is now. So a step the resumed run will run may now match other hosts than in the run it
 * continues: each such step gets a note naming the hosts added and removed. Steps carried over,
 * and steps that take their hosts from an earlier step (`failedIn`/`succeededIn`), are not
 * compared. Pure.
 */
import {foldNames} from '../run/group-output.js';
import type {RunbookPlan} from './plan-runbook.js';

export function hostChangeNotes(plan: RunbookPlan, before: {id: string; targets: Readonly<Record<string, readonly string[]>>}, carried: ReadonlySet<string>): string[] {
	const notes: string[] = [];
	for (const step of plan.steps.values()) {
		const old = before.targets[step.name];
		if (!('selector' in step.on) || carried.has(step.name) || old === undefined) {
			continue;
		}

		const added = step.targets.filter(name => !old.includes(name));
		const removed = old.filter(name => !step.targets.includes(name));
		if (added.length === 0 && removed.length === 0) {
			continue;
		}

		const changes = [...(added.length > 0 ? [`added ${foldNames(added)}`] : []), ...(removed.length > 0 ? [`removed ${foldNames(removed)}`] : [])];
		notes.push(`step ${step.name}: --on ${step.on.selector.join(' --on ')} now matches other hosts than when run ${before.id} was checked (${changes.join('; ')}); it runs on the ${step.targets.length} it matches now`);
	}

	return notes;
}

/** Each selector step's hosts as the run was checked, for the record's header (what a resume compares with). */
export function plannedTargets(plan: RunbookPlan): Record<string, string[]> {
	return Object.fromEntries([...plan.steps.values()].filter(step => 'selector' in step.on).map(step => [step.name, [...step.targets]]));
}
