/**
 * Runs a checked runbook: asks the flow what runs next, runs it (each step a normal run through
 * the `runStep` port, with its own request id), records each step's start before it is dialled
 * and its outcome when it ends (durably, through the record writer), and ends the record with the
 * runbook's status. A cancel stops the step running the usual way (the run's own cancel) and
 * nothing runs after it. A step that waits for two-person approval says so (a `step-waiting` line
 * and event, with the approval request) before it waits; one that did not wait (`--no-wait`) ends
 * `waiting` and pauses the runbook. A resumed run continues such a step under its recorded request
 * id and approval request (`pending`), so the approval given meanwhile is the one it runs with.
 * The ports (the step runner, the record, the clock, ids) come in, so the flow is tested without
 * a fleet.
 */
import {XiError} from '../errors.js';
import type {RunEvent} from '../run/events.js';
import type {RunStatus} from '../protocol/frames.js';
import {nextInFlow, type NotRun, type RunbookStatus} from './flow.js';
import {allSteps, type Runbook, type Step} from './model.js';
import type {PlannedStep, RunbookPlan} from './plan-runbook.js';
import type {RunbookRunLine} from './run-record.js';
import {noHostsOutcome, refusedOutcome, stepOutcome, waitingOutcome, type ApprovalRef, type StepOutcome} from './step-outcome.js';

/** One step as a run: the selector (or the hosts by name, for failedIn/succeededIn), the script and arguments, the rollout. */
export type StepRunRequest = {
	requestId: string;
	step: Step;
	planned: PlannedStep;
	/** `--on` values: the step's selector, or the names of the hosts it takes from an earlier step. */
	on: string[];
	/**
	 * The hosts it runs on, by name, fixed before it starts: a selector step's as the runbook was
	 * checked (a host paired or retagged since is not added or dropped), or those an earlier step
	 * ended on.
	 */
	hosts: string[];
	/** The approval request this step waited for in the run resumed: continue under it instead of asking anew. */
	approval?: string;
};

/** The hosts' statuses; or, for a step that needs approval and was told not to wait, the request it waits for. */
export type StepRunResult = {results: ReadonlyArray<{agent: string; status: RunStatus}>; cancelled: boolean} | {waiting: ApprovalRef};

export type StepControl = {
	cancel: AbortSignal;
	emit: (event: RunEvent) => void;
	/** Called when the step waits for two-person approval, before it waits (or stops waiting: --no-wait). */
	waiting: (approval: ApprovalRef) => void;
};

export type StepRunner = (request: StepRunRequest, control: StepControl) => Promise<StepRunResult>;

/** A step of the run resumed that waits for approval: the request id it keeps and the approval request. */
export type PendingStep = {requestId: string; approval: string};

export type RunbookEvent =
	| {type: 'step-started'; step: string; requestId: string; script: string; on: string[]}
	| {type: 'step-waiting'; step: string; requestId: string; approval: ApprovalRef}
	| {type: 'step-event'; step: string; event: RunEvent}
	| {type: 'step-finished'; step: string; outcome: StepOutcome}
	| {type: 'runbook-finished'; status: RunbookStatus; reason?: string; notRun: NotRun[]};

export type ExecutePorts = {
	runStep: StepRunner;
	write: (line: RunbookRunLine) => void;
	now: () => Date;
	newRequestId: () => string;
	cancel: AbortSignal;
	/** Who cancelled, read when the run ends cancelled (a cancel from another process names its own caller). */
	cancelledBy?: () => string | undefined;
	/**
	 * Looks for a cancel asked from elsewhere and aborts `cancel` if one came. Asked before each
	 * stage and again once a step's start is recorded, so a cancel that came between steps stops
	 * the runbook before the next step is dialled.
	 */
	checkCancel?: () => void;
	emit?: (event: RunbookEvent) => void;
};

export type ExecuteInput = {
	runbook: Runbook;
	plan: RunbookPlan;
	/** Outcomes carried over from the run a resumed run continues. */
	carried?: ReadonlyMap<string, StepOutcome>;
	/** The stage to start from (a resumed run's resume point). */
	from?: number;
	/** Steps of the run resumed that wait for approval, by name. */
	pending?: ReadonlyMap<string, PendingStep>;
};

export type ExecuteResult = {status: RunbookStatus; reason?: string; notRun: NotRun[]; outcomes: Map<string, StepOutcome>};

export async function executeRunbook(input: ExecuteInput, ports: ExecutePorts): Promise<ExecuteResult> {
	const steps = new Map(allSteps(input.runbook).map(step => [step.name, step]));
	const outcomes = new Map(input.carried ?? []);
	const emit = ports.emit ?? (() => undefined);
	for (;;) {
		ports.checkCancel?.();
		const decision = nextInFlow(input.runbook, {outcomes, from: input.from ?? 0, cancelled: ports.cancel.aborted});
		if (decision.type === 'done') {
			const {type: _type, ...end} = decision;
			const cancelledBy = decision.status === 'cancelled' ? ports.cancelledBy?.() : undefined;
			ports.write({type: 'end', ...end, at: ports.now().toISOString(), ...(cancelledBy ? {cancelledBy} : {})});
			emit({type: 'runbook-finished', ...end});
			return {...end, outcomes};
		}

		const finished = await Promise.all(decision.steps.map(async name => [name, await runOneStep(steps.get(name)!, input.plan.steps.get(name)!, outcomes, ports, input.pending?.get(name))] as const));
		for (const [name, outcome] of finished) {
			outcomes.set(name, outcome);
		}
	}
}

async function runOneStep(step: Step, planned: PlannedStep, outcomes: ReadonlyMap<string, StepOutcome>, ports: ExecutePorts, pending: PendingStep | undefined): Promise<StepOutcome> {
	const emit = ports.emit ?? (() => undefined);
	const finish = (outcome: StepOutcome) => {
		ports.write({type: 'step-finished', step: step.name, outcome, at: ports.now().toISOString()});
		emit({type: 'step-finished', step: step.name, outcome});
		return outcome;
	};

	let on: string[];
	let hosts: string[];
	if ('selector' in planned.on) {
		on = planned.on.selector;
		hosts = planned.targets;
	} else {
		const source = outcomes.get(planned.on.step);
		on = source ? source.hosts[planned.on.outcome] : [];
		if (on.length === 0) {
			const where = planned.on.outcome === 'failed' ? 'failed' : 'was ok';
			return finish(noHostsOutcome(source ? `no host ${where} in step ${planned.on.step}` : `step ${planned.on.step} did not run`));
		}

		hosts = on;
	}

	// A step that waited for approval keeps its request id: the approval is claimed for exactly that run.
	const requestId = pending?.requestId ?? ports.newRequestId();
	// On the disk before anything is dialled: a controller killed now leaves the step as in flight.
	ports.write({type: 'step-started', step: step.name, requestId, at: ports.now().toISOString()});
	emit({type: 'step-started', step: step.name, requestId, script: planned.script, on});
	// A cancel that came while the start was written: the step's run sees the signal aborted and starts no host.
	ports.checkCancel?.();
	try {
		const waiting = (approval: ApprovalRef) => {
			ports.write({type: 'step-waiting', step: step.name, requestId, approval, at: ports.now().toISOString()});
			emit({type: 'step-waiting', step: step.name, requestId, approval});
		};

		const result = await ports.runStep({requestId, step, planned, on, hosts, ...(pending ? {approval: pending.approval} : {})}, {cancel: ports.cancel, emit: event => emit({type: 'step-event', step: step.name, event}), waiting});
		if ('waiting' in result) {
			return finish(waitingOutcome(requestId, result.waiting));
		}

		return finish(stepOutcome(step, result.results, {requestId, cancelled: result.cancelled || ports.cancel.aborted}));
	} catch (error) {
		if (!(error instanceof XiError)) {
			throw error;
		}

		return finish(refusedOutcome(error.code, error.message, requestId));
	}
}
