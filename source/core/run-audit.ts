/**
 * What a run records in the controller's audit log as it goes: one `run.outcome` per host as it
 * ends (sizes and hashes of its output, not the output), a `run.cancel` naming the hosts still
 * running when a cancel comes, and, when the caller closes the log after the run, the closing
 * checkpoint asked with the last host's outcome (one lock, one write, one fsync). Only the appends
 * still in flight are held, not one per host: `settled` waits for them and throws the first that
 * failed (an outcome not recorded fails the run's answer; the run itself went ahead).
 */
import {createHash} from 'node:crypto';
import type {AuditLog} from '../audit/file-log.js';
import type {AuditFields} from '../audit/record.js';
import type {AgentResult, RunEvent} from '../run/events.js';
import type {RunPlan} from '../run/plan.js';

export type RunAuditOptions = {
	cancel: AbortSignal;
	/** Read when the cancel comes. */
	cancelledBy: () => string | undefined;
	cancelledFrom: () => string | undefined;
	closesAudit: boolean;
};

export function recordRunOutcomes(audit: AuditLog, plan: RunPlan, options: RunAuditOptions) {
	const pending = new Set<Promise<unknown>>();
	let failure: {error: unknown} | undefined;
	const track = (append: Promise<unknown>) => {
		const tracked = append.then(() => undefined, (error: unknown) => {
			failure ??= {error};
		}).finally(() => pending.delete(tracked));
		pending.add(tracked);
	};

	let finished = 0;
	// Which hosts are running, for the cancel's record.
	const inFlight = new Set<string>();
	const onCancel = () => {
		track(audit.append({event: 'run.cancel', requestId: plan.requestId, caller: options.cancelledBy() ?? plan.caller, source: options.cancelledFrom(), stillRunning: [...inFlight]}));
	};

	if (options.cancel.aborted) {
		onCancel();
	} else {
		options.cancel.addEventListener('abort', onCancel, {once: true});
	}

	return {
		onEvent(event: RunEvent): void {
			if (event.type === 'agent-connecting') {
				inFlight.add(event.agent);
			} else if (event.type === 'agent-finished') {
				inFlight.delete(event.result.agent);
				track(audit.append(outcomeRecord(plan.requestId, event.result)));
				if (options.closesAudit && ++finished === plan.targets.length) {
					track(audit.checkpoint());
				}
			}
		},
		/** The run ended: a cancel from now on is not the run's. */
		stop(): void {
			options.cancel.removeEventListener('abort', onCancel);
		},
		/** Waits for every append; throws the first that failed. */
		async settled(): Promise<void> {
			while (pending.size > 0) {
				await Promise.all(pending);
			}

			if (failure) {
				throw failure.error;
			}
		},
	};
}

/** What the controller records of one host's outcome: sizes and hashes of the output, not the output. */
export function outcomeRecord(requestId: string, result: AgentResult): AuditFields {
	return {
		event: 'run.outcome',
		requestId,
		agent: result.agent,
		status: result.status,
		exitCode: result.exitCode,
		signal: result.signal,
		durationMs: result.durationMs,
		truncated: result.truncated,
		reason: result.reason,
		via: result.via,
		notes: result.notes,
		agentHead: result.agentHead,
		output: {stdoutBytes: Buffer.byteLength(result.stdout), stderrBytes: Buffer.byteLength(result.stderr), stdoutSha256: sha256(result.stdout), stderrSha256: sha256(result.stderr)},
	};
}

function sha256(text: string): string {
	return createHash('sha256').update(text).digest('hex');
}
