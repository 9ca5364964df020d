/**
 * A gated run for a face that waits where it is (the console's run screen): the plan is resolved
 * through two-person approval; a plan the policy names opens its request, the face is told it
 * waits (the request and what it needs), and the run goes on once it is approved — the approved,
 * stored plan with its approval, as every face runs it. A rejection, an invalidation or an
 * expiry refuses it with the decision's words; `signal` stops waiting and leaves the request
 * open (it can still be approved and run with `xi-exec run --approved ID`).
 */
import type {PlanPorts, RunRequest} from '../core/run-plan.js';
import {XiError} from '../errors.js';
import type {ApprovalClaim} from '../protocol/frames.js';
import type {RunPlan} from '../run/plan.js';
import {waitingLine} from './approval-text.js';
import {resolveGated, waitThenClaim} from './gated-run.js';

/** What the face shows of the run's approval: waiting for it; approved (the run starts); or not run, and why (rejected, expired, invalidated, stopped waiting). */
export type ApprovalWait = {state: 'waiting'; id: string; line: string} | {state: 'approved'; id: string} | {state: 'ended'; id: string; reason: string};

export async function planOnceApproved(ports: PlanPorts, request: RunRequest, options: {signal: AbortSignal; onWait?: (wait: ApprovalWait) => void; intervalMs?: number}): Promise<{plan: RunPlan; approval?: ApprovalClaim}> {
	const gated = await resolveGated(ports, request);
	if (gated.type === 'run') {
		return {plan: gated.plan};
	}

	const {id} = gated.request;
	options.onWait?.({state: 'waiting', id, line: `${waitingLine(gated.request)}; another operator approves it (A, or \`xi-exec approve ${id}\`)`});
	try {
		const claimed = await waitThenClaim(ports, gated.request, request.token, {signal: options.signal, ...(options.intervalMs ? {intervalMs: options.intervalMs} : {})});
		options.onWait?.({state: 'approved', id});
		return {plan: claimed.plan, approval: claimed.approval};
	} catch (error) {
		const ended = options.signal.aborted ? new XiError('APPROVAL_PENDING', `Stopped waiting: request ${id} stays open; once approved, \`xi-exec run --approved ${id}\` runs it.`) : error;
		options.onWait?.({state: 'ended', id, reason: (ended as Error).message});
		throw ended;
	}
}
