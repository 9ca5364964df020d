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
 */
import {resolveGated, waitThenClaim} from '../approvals/gated-run.js';
import type {ApprovalRequest} from '../approvals/request.js';
import {executePlan, type RunPorts} from '../core/run-execute.js';
import type {AgentResult} from '../run/events.js';
import type {RunbookFile} from '../run/plan.js';
import type {StepRunner} from './execute.js';

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
	/** Who cancelled, read when the cancel comes (a cancel from another process names its own caller). */
	cancelledBy?: () => string | undefined;
};

export function runStepsAsRuns(ports: RunPorts, options: StepRunnerOptions): StepRunner {
	return async ({requestId, step, planned, on, hosts}, control) => {
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
		// A step the approvals policy names waits here for its approval (a cancel ends the wait) and
		// runs the plan as approved; a rejection or an expiry refuses the step.
		let approved: Awaited<ReturnType<typeof waitThenClaim>> | undefined;
		if (gated.type === 'wait') {
			options.waitingForApproval?.(step.name, gated.request);
			try {
				approved = await waitThenClaim(ports, gated.request, options.token, {signal: control.cancel});
			} catch (error) {
				if (control.cancel.aborted) {
					return {results: gated.plan.targets.map(target => ({agent: target.name, status: 'skipped'})), cancelled: true};
				}

				throw error;
			}
		}

		const plan = approved?.plan ?? gated.plan;
		const execution = await executePlan(ports, plan, {
			...(approved ? {approval: approved.approval} : {}),
			cancel: control.cancel,
			emit: control.emit,
			// Read by the run when the cancel comes and when it ends, not now: who cancels is known only then.
			get cancelledBy() {
				return options.cancelledBy?.();
			},
			approveCanary: async canary => options.yes || (options.approveCanary ? options.approveCanary(step.name, canary) : false),
		});
		const outcome = await execution.outcome;
		return {results: outcome.results, cancelled: outcome.cancelled};
	};
}
