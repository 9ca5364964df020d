/**
 * Cancels a runbook run from anywhere (another terminal, the API): `xi-exec runbook cancel ID`,
 * `xi-exec cancel ID` and `POST /v1/runbook-runs/{id}/cancel` all come here.
 *
 * 1. A `cancel-requested` line is appended to the run's record (fsynced). The process running
 *    the run watches for it: it cancels the step in flight the usual way and runs nothing after
 *    it; between steps, it starts no further step. Its end line then says `cancelled`, by whom.
 * 2. The steps the record shows in flight are cancelled on their hosts at once (as `xi-exec
 *    cancel REQUEST-ID`), so a cancel works even while that process is stalled.
 * 3. A run no process is running any more (its controller was killed: it reads `interrupted`)
 *    gets its end line here, `cancelled`.
 *
 * A run that already ended is left as it is, except one that ended `waiting` for an approval
 * (--no-wait): its record then ends `cancelled`, and each request its steps waited for is
 * withdrawn (`approval.withdrawn`; a resumed run asks again). `runbook run --resume ID` continues a cancelled run
 * from its first step not finished ok. One `runbook.cancel` audit record says who asked and what
 * each host still running answered.
 */
import {withdrawWaiting} from '../approvals/gated-run.js';
import {cancelRecordedRun, type CancelAnswer, type CancelPorts} from '../core/cancel-run.js';
import {runbookRunsDirectory, appendCancelRequest, appendToStoppedRecord, findRunbookRun} from './record-store.js';
import type {RunbookStatus} from './flow.js';
import {waitingSteps} from './run-record.js';

export type RunbookCancelAnswer = {
	id: string;
	/** `cancelling`: a process runs it and stops at the request; `cancelled`: no process ran it, its record now ends cancelled; otherwise the status it had already ended with. */
	status: 'cancelling' | 'cancelled' | {ended: RunbookStatus};
	/** Each step that was in flight, and what its hosts still running answered. */
	steps: Array<{step: string; requestId: string; answers: CancelAnswer[]}>;
};

export async function cancelRunbookRun(ports: CancelPorts & {now?: () => Date}, input: {id: string; caller: string; source?: string}): Promise<RunbookCancelAnswer> {
	const now = ports.now ?? (() => new Date());
	const stored = findRunbookRun(runbookRunsDirectory(ports.paths), input.id);
	const {record} = stored;
	if (record.end && record.end.status !== 'waiting') {
		return {id: input.id, status: {ended: record.end.status}, steps: []};
	}

	const at = now().toISOString();
	appendCancelRequest(stored.path, {type: 'cancel-requested', by: input.caller, ...(input.source ? {source: input.source} : {}), at});
	const inFlight = record.steps.filter(step => step.status === 'running' && step.requestId !== undefined);
	const steps = await Promise.all(inFlight.map(async step => {
		const {answers} = await cancelRecordedRun(ports, {requestId: step.requestId!, caller: input.caller, ...(input.source ? {source: input.source} : {})});
		return {step: step.name, requestId: step.requestId!, answers};
	}));
	if (!stored.running) {
		const reason = record.end ? 'the runbook was cancelled while it waited for approval' : 'the runbook was cancelled after its controller stopped';
		appendToStoppedRecord(stored.path, {type: 'end', status: 'cancelled', reason, notRun: record.end?.notRun ?? [], at: now().toISOString(), cancelledBy: input.caller});
		for (const [step, {approval}] of waitingSteps(record)) {
			// One lock on approvals.json at a time.
			await withdrawWaiting({...ports, now}, approval, {caller: input.caller, ...(input.source ? {source: input.source} : {})}, `runbook run ${input.id} was cancelled while step ${step} waited for it`);
		}
	}

	await ports.audit().append({
		event: 'runbook.cancel',
		runbookRun: input.id,
		runbook: record.header.runbook,
		caller: input.caller,
		source: input.source,
		running: stored.running,
		steps: steps.map(step => ({step: step.step, requestId: step.requestId, stillRunning: step.answers.filter(answer => answer.outcome === 'cancelled').map(answer => answer.agent), unreachable: step.answers.filter(answer => answer.outcome === 'unreachable').map(answer => answer.agent)})),
	});
	return {id: input.id, status: stored.running ? 'cancelling' : 'cancelled', steps};
}
