/**
 * Where a resumed runbook run starts: the first stage with a step not finished ok (ok, or no host
 * to run on), or the stage of `--from STEP`. The outcomes before that point carry over (a later
 * `failedIn`/`succeededIn` reads them), as do the ok steps of a `parallel:` group resumed
 * part-way. Handlers' outcomes never carry over: if the step before them fails again, they run
 * again. Pure.
 */
import {stageSteps, type Runbook} from './model.js';
import {finishedOk, type StepOutcome} from './step-outcome.js';

export type ResumePoint = {ok: true; from: number; step: string; carried: string[]} | {ok: false; reason: string};

export function resumePoint(runbook: Runbook, outcomes: ReadonlyMap<string, StepOutcome>, fromStep?: string): ResumePoint {
	const stages = runbook.stages;
	if (fromStep !== undefined) {
		const index = stages.findIndex(stage => stageSteps(stage).some(step => step.name === fromStep));
		if (index === -1) {
			const handler = runbook.handlers.some(step => step.name === fromStep);
			return {ok: false, reason: handler
				? `--from ${fromStep}: that step is a handler (it runs after a failure); name a step of the sequence`
				: `--from ${fromStep}: runbook ${runbook.name} has no such step (its steps: ${stages.flatMap(stage => stageSteps(stage).map(step => step.name)).join(', ')})`};
		}

		return {ok: true, from: index, step: fromStep, carried: carriedBefore(runbook, outcomes, index)};
	}

	const index = stages.findIndex(stage => stageSteps(stage).some(step => !finishedOk(outcomes.get(step.name))));
	if (index === -1) {
		return {ok: false, reason: 'every step of that run finished ok: there is nothing to resume (name a step with --from to run again from it)'};
	}

	const stage = stages[index]!;
	const okInStage = stageSteps(stage).filter(step => finishedOk(outcomes.get(step.name))).map(step => step.name);
	const first = stageSteps(stage).find(step => !finishedOk(outcomes.get(step.name)))!;
	return {ok: true, from: index, step: first.name, carried: [...carriedBefore(runbook, outcomes, index), ...okInStage]};
}

function carriedBefore(runbook: Runbook, outcomes: ReadonlyMap<string, StepOutcome>, index: number): string[] {
	return runbook.stages.slice(0, index).flatMap(stage => stageSteps(stage).map(step => step.name)).filter(name => outcomes.has(name));
}
