/**
 * How one step ended, from its hosts' statuses. A step is `ok` when its failures (failed, timeout,
 * denied, error, and unreachable unless `ignoreUnreachable`) are within its `maxFailures` (none
 * by default) and no host was left unstarted (the rollout stopped: threshold, canary); `failed`
 * otherwise; `cancelled` when the run was cancelled before every host ended (a host ended `cancelled`, or was
 * not started because of the cancel); `skipped` when it had no host to run on (the
 * step it takes its hosts from failed nowhere); `error` when it was refused before it ran;
 * `waiting` when it needs two-person approval and the run was told not to wait (`--no-wait`):
 * nothing of it ran, and `--resume` continues it under the same approval request. Pure.
 */
import {countByStatus} from '../history/run-record.js';
import {planRollout} from '../run/rollout.js';
import type {RunStatus} from '../protocol/frames.js';
import type {Step} from './model.js';

export type StepStatus = 'ok' | 'failed' | 'skipped' | 'cancelled' | 'error' | 'waiting';

export type StepOutcome = {
	status: StepStatus;
	/** The run this step was, when it ran. */
	requestId?: string;
	counts: Partial<Record<RunStatus, number>>;
	/** The hosts for a later step's `succeededIn` / `failedIn`. */
	hosts: {ok: string[]; failed: string[]};
	reason?: string;
	/** An error code, when the step was refused before it ran. */
	code?: string;
	/** The approval request the step waits for (or ran under, once approved). */
	approval?: ApprovalRef;
};

/** An approval request as a runbook records it: its id, who must approve (in words) and until when. */
export type ApprovalRef = {id: string; needs: string; expiresAt: string};

/** The statuses that make a host one where the step "failed" (for `failedIn`). */
export const failedHostStatuses: readonly RunStatus[] = ['failed', 'timeout', 'denied', 'error', 'unreachable'];

export function stepOutcome(step: Step, results: ReadonlyArray<{agent: string; status: RunStatus}>, options: {requestId?: string; cancelled: boolean}): StepOutcome {
	const counts = countByStatus(results);
	const hosts = {
		ok: results.filter(result => result.status === 'ok').map(result => result.agent),
		failed: results.filter(result => failedHostStatuses.includes(result.status)).map(result => result.agent),
	};
	const base = {...(options.requestId ? {requestId: options.requestId} : {}), counts, hosts};
	const total = results.length;
	// Cancelled here (Ctrl-C, the API, a cancel request) or from elsewhere (`xi-exec cancel` of the
	// step's request id). A cancel that came once every host had ended leaves the step as it ended
	// (the runbook still stops before its next step).
	if ((counts.cancelled ?? 0) > 0 || (options.cancelled && (counts.skipped ?? 0) > 0)) {
		return {...base, status: 'cancelled', reason: 'cancelled'};
	}

	const rollout = planRollout({parallel: 1, ...(step.rollout.maxFailures ? {maxFailures: step.rollout.maxFailures} : {}), ignoreUnreachable: step.rollout.ignoreUnreachable ?? false}, total);
	const allowed = rollout.maxFailures ?? 0;
	const failures = results.filter(result => failedHostStatuses.includes(result.status) && !(result.status === 'unreachable' && rollout.ignoreUnreachable)).length;
	const notStarted = counts.skipped ?? 0;
	if (failures > allowed) {
		return {...base, status: 'failed', reason: `${failures} of ${total} ${plural(total, 'host')} failed, over maxFailures ${allowed}`};
	}

	if (notStarted > 0) {
		return {...base, status: 'failed', reason: `${notStarted} of ${total} ${plural(total, 'host')} did not run`};
	}

	return {...base, status: 'ok', ...(failures > 0 ? {reason: `${failures} of ${total} ${plural(total, 'host')} failed, within maxFailures ${allowed}`} : {})};
}

/** A step with no host to run on: the hosts it takes from an earlier step are none. */
export function noHostsOutcome(reason: string): StepOutcome {
	return {status: 'skipped', counts: {}, hosts: {ok: [], failed: []}, reason};
}

/** A step refused before it ran (a token, a policy, a blast-radius limit): it failed, with the refusal's code. */
export function refusedOutcome(code: string, reason: string, requestId?: string): StepOutcome {
	return {status: 'error', ...(requestId ? {requestId} : {}), counts: {}, hosts: {ok: [], failed: []}, reason, code};
}

/** A step that needs approval and did not wait for it (`--no-wait`): nothing of it ran. */
export function waitingOutcome(requestId: string, approval: ApprovalRef): StepOutcome {
	return {status: 'waiting', requestId, counts: {}, hosts: {ok: [], failed: []}, reason: `waiting for approval: request ${approval.id} (needs ${approval.needs})`, approval};
}

/** Finished with nothing left to do: ok, or no host to run on. */
export function finishedOk(outcome: StepOutcome | undefined): boolean {
	return outcome?.status === 'ok' || outcome?.status === 'skipped';
}

function plural(count: number, word: string): string {
	return count === 1 ? word : `${word}s`;
}
