/**
 * What a runbook does next, given the outcomes of the steps so far: run a stage (one step, or the
 * steps of a `parallel:` group not yet run), run a handler, or finish. Pure; the executor asks
 * after each stage, and a resumed run asks from its resume point.
 *
 * The semantics, in order:
 * - Stages run in the file's order; a `parallel:` group's steps run at once, and the group is
 *   over when all of them are.
 * - A step that is not ok applies its `onFailure`: `continue` goes on as if it were ok;
 *   `stop` (the default) stops the runbook; `run STEP` runs that handler next (and the
 *   handler's own `onFailure: run` after it, if the handler fails), then stops the runbook.
 * - Once stopped, a stage runs only when its `when` is `always` (cleanup); others are "not run".
 * - After a cancel nothing runs. A step that ends `cancelled` ends the runbook as cancelled.
 * - A step that ends `waiting` (it needs approval and the run did not wait: `--no-wait`) pauses
 *   the runbook once its stage is over: nothing after it runs, not even `when: always` steps and
 *   handlers (they run when `--resume` continues it, as they would have without the pause).
 * - The runbook ends `ok` when nothing stopped it (continued failures are reported, not fatal),
 *   `failed` when a step stopped it, `cancelled` when it was cancelled, `waiting` when a step
 *   waits for approval.
 */
import {stageSteps, type Runbook, type Step} from './model.js';
import {finishedOk, type StepOutcome} from './step-outcome.js';

export type FlowState = {
	outcomes: ReadonlyMap<string, StepOutcome>;
	/** The stage to start from (0, or a resumed run's resume point); outcomes before it are context only. */
	from: number;
	cancelled: boolean;
};

export type RunbookStatus = 'ok' | 'failed' | 'cancelled' | 'waiting';

export type NotRun = {step: string; reason: string};

export type FlowDecision =
	| {type: 'run'; steps: string[]}
	| {type: 'done'; status: RunbookStatus; reason?: string; notRun: NotRun[]};

export function nextInFlow(runbook: Runbook, state: FlowState): FlowDecision {
	const handlers = new Map(runbook.handlers.map(step => [step.name, step]));
	const notRun: NotRun[] = [];
	let stopped: string | undefined;
	const done = (status: RunbookStatus, reason?: string): FlowDecision => ({type: 'done', status, ...(reason === undefined ? {} : {reason}), notRun});
	// After a cancel, every step without an outcome is named as not run (handlers are not: they only run after a failure).
	const cancelled = (): FlowDecision => {
		const reason = 'the runbook was cancelled';
		notRun.push(...runbook.stages.slice(state.from).flatMap(stage => stageSteps(stage)).filter(step => !state.outcomes.has(step.name)).map(step => ({step: step.name, reason})));
		return done('cancelled', reason);
	};

	// A step waiting for approval: every step without an outcome is named as not run yet.
	const paused = (steps: string[]): FlowDecision => {
		notRun.push(...runbook.stages.slice(state.from).flatMap(stage => stageSteps(stage)).filter(step => !state.outcomes.has(step.name)).map(step => ({step: step.name, reason: 'the runbook waits for approval'})));
		return done('waiting', steps.map(step => `step ${step} waits for approval (request ${state.outcomes.get(step)?.approval?.id ?? '?'})`).join('; '));
	};

	for (const stage of runbook.stages.slice(state.from)) {
		const members = stageSteps(stage);
		const when = stage.kind === 'step' ? stage.step.when : stage.when;
		const missing = members.filter(step => !state.outcomes.has(step.name));
		if (missing.length > 0) {
			if (state.cancelled) {
				return cancelled();
			}

			if (stopped !== undefined && when !== 'always') {
				notRun.push(...missing.map(step => ({step: step.name, reason: stopped!})));
				continue;
			}

			return {type: 'run', steps: missing.map(step => step.name)};
		}

		if (members.some(step => state.outcomes.get(step.name)!.status === 'cancelled')) {
			return cancelled();
		}

		const waiting = members.filter(step => state.outcomes.get(step.name)!.status === 'waiting');
		if (waiting.length > 0) {
			return paused(waiting.map(step => step.name));
		}

		for (const step of members) {
			const outcome = state.outcomes.get(step.name)!;

			if (finishedOk(outcome) || step.onFailure.type === 'continue') {
				continue;
			}

			const failure = `step ${step.name} ${outcome.status === 'error' ? 'was refused' : 'failed'}${outcome.reason ? ` (${outcome.reason})` : ''}`;
			if (step.onFailure.type === 'run') {
				const handled = followHandlers(step, handlers, state);
				if (handled.type === 'run') {
					return {type: 'run', steps: [handled.step]};
				}

				if (handled.type !== 'ran') {
					return handled.type === 'waiting' ? paused([handled.step]) : cancelled();
				}

				stopped ??= `${failure}; ${handled.chain.join(', then ')} ran`;
			} else {
				stopped ??= failure;
			}
		}
	}

	return stopped === undefined ? done('ok') : done('failed', stopped);
}

type Handled = {type: 'run'; step: string} | {type: 'ran'; chain: string[]} | {type: 'cancelled'} | {type: 'waiting'; step: string};

/** The handler chain of a failed step: the first handler without an outcome runs next. */
function followHandlers(failed: Step, handlers: ReadonlyMap<string, Step>, state: FlowState): Handled {
	const chain: string[] = [];
	let next = failed.onFailure.type === 'run' ? failed.onFailure.step : undefined;
	// The file's check refuses cycles; the bound keeps a bug from looping here.
	while (next !== undefined && chain.length <= handlers.size) {
		const handler = handlers.get(next);
		if (!handler) {
			break;
		}

		const outcome = state.outcomes.get(handler.name);
		if (!outcome) {
			return state.cancelled ? {type: 'cancelled'} : {type: 'run', step: handler.name};
		}

		if (outcome.status === 'cancelled') {
			return {type: 'cancelled'};
		}

		if (outcome.status === 'waiting') {
			return {type: 'waiting', step: handler.name};
		}

		chain.push(handler.name);
		next = !finishedOk(outcome) && handler.onFailure.type === 'run' ? handler.onFailure.step : undefined;
	}

	return {type: 'ran', chain};
}
