/**
 * A runbook run as the screen shows it: every step of the plan in order (handlers last), each
 * waiting, running (its hosts folded by the shared run reducer, their live lines kept for the
 * panes), or ended with its outcome; steps the runbook did not reach say why. Pure.
 */
import {initialRunState, reduceRun, type RunState} from '../../../run/run-state.js';
import type {RunbookEvent} from '../../../runbooks/execute.js';
import type {RunbookStatus} from '../../../runbooks/flow.js';
import type {PlanDocument} from '../../../runbooks/plan-document.js';
import type {StepStatus} from '../../../runbooks/step-outcome.js';
import {appendOutput, type LiveLine} from '../run/live-lines.js';

export type StepPhase = 'waiting' | 'running' | StepStatus | 'not run';

export type StepView = {
	name: string;
	script: string;
	/** `parallel`: in a parallel group; `handler`: reached only by an `onFailure: run`. */
	place: 'sequence' | 'parallel' | 'handler';
	phase: StepPhase;
	requestId?: string;
	run: RunState;
	live: Readonly<Record<string, LiveLine[]>>;
	counts?: Partial<Record<string, number>>;
	reason?: string;
};

export type RunbookEnd = {status: RunbookStatus; reason?: string};

export function stepViews(plan: PlanDocument): StepView[] {
	const view = (step: {name: string; script: string}, place: StepView['place']): StepView => ({name: step.name, script: step.script, place, phase: 'waiting', run: initialRunState, live: {}});
	return [
		...plan.stages.flatMap(stage => stage.steps.map(step => view(step, stage.parallel ? 'parallel' : 'sequence'))),
		...plan.handlers.map(step => view(step, 'handler')),
	];
}

export function reduceSteps(steps: readonly StepView[], event: RunbookEvent): StepView[] {
	const change = (name: string, update: (step: StepView) => StepView) => steps.map(step => (step.name === name ? update(step) : step));
	switch (event.type) {
		case 'step-started': {
			return change(event.step, step => ({...step, phase: 'running', requestId: event.requestId, run: initialRunState, live: {}}));
		}

		case 'step-event': {
			const inner = event.event;
			return change(event.step, step => ({
				...step,
				run: reduceRun(step.run, inner),
				// A computed key defines an own property, even for a host named `__proto__`.
				...(inner.type === 'agent-output' ? {live: {...step.live, [inner.agent]: appendOutput(Object.hasOwn(step.live, inner.agent) ? step.live[inner.agent]! : [], inner.stream, inner.data)}} : {}),
			}));
		}

		// Approval asked (runbooks): the step stays running while it waits; its reason says for what.
		case 'step-waiting': {
			return change(event.step, step => ({...step, requestId: event.requestId, reason: `waiting for approval: request ${event.approval.id} (needs ${event.approval.needs})`}));
		}

		case 'step-finished': {
			const {outcome} = event;
			return change(event.step, step => ({...step, phase: outcome.status, counts: outcome.counts, ...(outcome.requestId ? {requestId: outcome.requestId} : {}), ...(outcome.reason ? {reason: outcome.reason} : {})}));
		}

		case 'runbook-finished': {
			const notRun = new Map(event.notRun.map(entry => [entry.step, entry.reason]));
			return steps.map(step => (notRun.has(step.name) && (step.phase === 'waiting' || step.phase === 'running') ? {...step, phase: 'not run', reason: notRun.get(step.name)!} : step));
		}
	}
}

/** The step to show when the operator has not chosen one: the last one started, else the first. */
export function currentStep(steps: readonly StepView[]): string | undefined {
	return steps.findLast(step => step.phase === 'running')?.name ?? steps.findLast(step => step.phase !== 'waiting' && step.phase !== 'not run')?.name ?? steps[0]?.name;
}
