/**
 * Each runbook step as a normal run, through the same run use case every face calls: its own
 * request id, the token's scope, the policy on every agent, blast-radius limits and a `confirm`
 * script's confirmation and two-person approval all apply per step exactly as for `xi-exec run`, and the run is kept in
 * the history (`runs show ID`) and the audit log on both sides.
 *
 * A step runs on the hosts fixed before it started (StepRunRequest.hosts), not on its selector
 * resolved again: the hosts the runbook was checked against (scripts, argument schemas, token
 * scope) are the ones asked. A host unpaired since refuses the step, by name (AGENT_UNKNOWN);
 * `--resume` checks the runbook against the fleet as it is then.
 *
 * A step the approvals policy names opens an approval request for its plan and waits for the
 * decision (a cancel ends the wait); with `noWait` it does not wait: the step ends `waiting` and
 * the runbook pauses. A resumed run continues such a step (StepRunRequest.approval) under the
 * same request: it waits for it (or not, with `noWait`) and claims it for the step's recorded
 * request id; a request rejected or expired meanwhile refuses the step with the claim's reason.
 * A cancel while a step waits withdraws its request (`approval.withdrawn`): nobody is left to
 * run it; a resumed run then asks again for that step.
 */
import {awaitOwnApproval, resolveGated, waitThenClaim, wasWithdrawn, withdrawWaiting} from '../approvals/gated-run.js';
import type {ApprovalRequest} from '../approvals/request.js';
import {describeNeeds} from '../approvals/requirement.js';
import {executePlan, type RunPorts} from '../core/run-execute.js';
import {createRunConnections} from '../dispatch/held-connections.js';
import {collectResults} from '../run/collect-results.js';
import type {AgentResult} from '../run/events.js';
import type {RunbookFile, RunPlan} from '../run/plan.js';
import type {ApprovalClaim} from '../protocol/frames.js';
import type {StepControl, StepRunRequest, StepRunner, StepRunResult} from './execute.js';
import type {ApprovalRef} from './step-outcome.js';

export type StepRunnerOptions = {
	/** The runbook run's id: each step's run names it, with the step, as its parent. */
	runbookRun: string;
	/** The runbook file the run read (its path in the home, SHA-256 of its bytes): in each step's plan hash, so an approval is bound to it. */
	runbookFile?: RunbookFile;
	caller: string;
	source?: string;
	token?: string;
	/** Confirms a `confirm` script and goes on after a good canary without asking (--yes). */
	yes: boolean;
	/** Asks the operator to type `answer` (a terminal); absent: a `confirm` script needs `yes`. */
	confirm?: (question: string, answer: string) => Promise<boolean>;
	/** Asked after a step's canary hosts are ok; without it (and without `yes`) a canary step stops there. */
	approveCanary?: (step: string, canary: AgentResult[]) => Promise<boolean>;
	/** Told when a step waits for two-person approval (the approvals policy names its plan). */
	waitingForApproval?: (step: string, request: ApprovalRequest) => void;
	/** A step that needs approval does not wait for it: it ends `waiting` (the CLI's --no-wait). */
	noWait?: boolean;
	/** Who cancelled, read when the cancel comes (a cancel from another process names its own caller). */
	cancelledBy?: () => string | undefined;
};

export function runStepsAsRuns(ports: RunPorts, options: StepRunnerOptions): StepRunner {
	return async (request, control) => {
		// One TLS connection per host for the step's describe and its run, as `xi-exec run` keeps them.
		const connections = createRunConnections();
		const held = {...ports, connections};
		const continues = request.approval !== undefined && !await wasWithdrawn(ports, request.approval).catch(() => false);
		const decided = await (continues ? continueApproval(ports, options, request, control) : approvedOrWaiting(held, options, request, control)).catch((error: unknown) => {
			connections.close();
			throw error;
		});
		if ('result' in decided) {
			connections.close();
			return decided.result;
		}

		// The step's hosts and how each ended, for the steps after it: names and statuses, not output.
		const hosts = collectResults(control.emit, result => ({agent: result.agent, status: result.status}));
		const execution = await executePlan(held, decided.plan, {
			...(decided.approval ? {approval: decided.approval} : {}),
			cancel: control.cancel,
			emit: hosts.emit,
			// Read by the run when the cancel comes and when it ends, not now: who cancels is known only then.
			get cancelledBy() {
				return options.cancelledBy?.();
			},
			approveCanary: async canary => options.yes || (options.approveCanary ? options.approveCanary(request.step.name, canary) : false),
		});
		const outcome = await execution.outcome;
		return {results: hosts.results(), cancelled: outcome.cancelled};
	};
}

type Decided = {plan: RunPlan; approval?: ApprovalClaim} | {result: StepRunResult};

/** The step's plan; when the approvals policy names it, the plan as approved once the request is (or the step waiting). */
async function approvedOrWaiting(ports: RunPorts, options: StepRunnerOptions, {requestId, step, planned, on, hosts}: StepRunRequest, control: StepControl): Promise<Decided> {
	const rollout = step.rollout;
	const gated = await resolveGated(ports, {
		requestId,
		script: planned.script,
		args: planned.args,
		on,
		pinned: {agents: hosts, since: 'selector' in planned.on ? `when runbook run ${options.runbookRun} was checked` : `by step ${planned.on.step} of runbook run ${options.runbookRun}`, remedy: `\`xi-exec runbook run --resume ${options.runbookRun}\` checks the runbook against the fleet as it is now`},
		parallel: 64,
		timeoutSeconds: step.timeoutSeconds ?? 30,
		dryRun: false,
		caller: options.caller,
		parent: {runbook: options.runbookRun, step: step.name},
		...(options.runbookFile ? {runbookFile: options.runbookFile} : {}),
		...(options.source ? {source: options.source} : {}),
		...(options.token === undefined ? {} : {token: options.token}),
		rollout: {
			...(rollout.batch ? {batch: rollout.batch} : {}),
			...(rollout.maxFailures ? {maxFailures: rollout.maxFailures} : {}),
			...(rollout.canary ? {canary: rollout.canary} : {}),
			...(rollout.ignoreUnreachable ? {ignoreUnreachable: true} : {}),
			...(rollout.runTimeoutSeconds ? {runTimeoutMs: rollout.runTimeoutSeconds * 1000} : {}),
			...(rollout.idleTimeoutSeconds ? {idleTimeoutMs: rollout.idleTimeoutSeconds * 1000} : {}),
		},
		yes: options.yes,
		...(options.confirm ? {confirm: options.confirm} : {}),
	});
	if (gated.type === 'run') {
		return {plan: gated.plan};
	}

	// The approvals policy names the plan: say so, then wait here for the decision (a cancel ends
	// the wait) and run the plan as approved; a rejection or an expiry refuses the step.
	const waiting = announce(options, step.name, gated.request, control);
	if (options.noWait) {
		return {result: {waiting}};
	}

	try {
		const approved = await waitThenClaim(ports, gated.request, options.token, {signal: control.cancel});
		return {plan: approved.plan, approval: approved.approval};
	} catch (error) {
		if (control.cancel.aborted) {
			await withdraw(ports, options, step.name, gated.request.id);
			return {result: {results: gated.plan.targets.map(target => ({agent: target.name, status: 'skipped'})), cancelled: true}};
		}

		throw error;
	}
}

/**
 * A step the run resumed left waiting for approval: its request, as decided since, claimed for the
 * step's recorded request id (the plan as approved, now the resumed run's step); still pending, it
 * waits again (not with `noWait`). Only the token that asked can claim it.
 */
async function continueApproval(ports: RunPorts, options: StepRunnerOptions, {step, hosts, approval}: StepRunRequest, control: StepControl): Promise<Decided> {
	const token = options.token ?? '';
	const waitFor = async (timeoutMs: number) => awaitOwnApproval(ports, approval!, token, {timeoutMs, signal: control.cancel, ...(options.source ? {from: {source: options.source}} : {})});
	let decided: Awaited<ReturnType<typeof waitFor>>;
	try {
		decided = await waitFor(0);
		if (decided.type === 'wait') {
			const waiting = announce(options, step.name, decided.request, control);
			if (options.noWait) {
				return {result: {waiting}};
			}

			// Until the request is decided or expires (its expiry is what ends the wait).
			while (decided.type === 'wait') {
				decided = await waitFor(60_000);
			}
		}
	} catch (error) {
		if (control.cancel.aborted) {
			await withdraw(ports, options, step.name, approval!);
			return {result: {results: hosts.map(agent => ({agent, status: 'skipped'})), cancelled: true}};
		}

		throw error;
	}

	return {plan: {...decided.plan, parent: {runbook: options.runbookRun, step: step.name}}, approval: decided.approval};
}

/** The step's request is withdrawn once its run is cancelled; a withdrawal that cannot be recorded leaves it open (it expires). */
async function withdraw(ports: RunPorts, options: StepRunnerOptions, step: string, id: string): Promise<void> {
	await withdrawWaiting(ports, id, {caller: options.cancelledBy?.() ?? options.caller, ...(options.source ? {source: options.source} : {})}, `runbook run ${options.runbookRun} was cancelled while step ${step} waited for it`).catch(() => undefined);
}

function announce(options: StepRunnerOptions, step: string, request: ApprovalRequest, control: StepControl): ApprovalRef {
	options.waitingForApproval?.(step, request);
	const waiting = {id: request.id, needs: describeNeeds({rules: request.needs}), expiresAt: request.expiresAt};
	control.waiting(waiting);
	return waiting;
}
