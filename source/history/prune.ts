/**
 * History retention when a run starts (or once its own file is created): the runs beyond the configured count or age are recorded
 * in the audit log (`history.pruned`, with each run's request id and why) before their files are
 * removed. No record, no removal: when the audit log refuses, the history is left as it is.
 */
import type {AuditLog} from '../audit/file-log.js';
import {defaultRetention, planPrune, removeRuns, type Retention} from './run-store.js';

/** `added`: the new run's file, when it was created already (it counts as the one added, and stays). */
export async function pruneHistory(directory: string, settings: {historyMaxRuns?: number; historyMaxAgeDays?: number}, audit: AuditLog, caller: string, now: Date, added?: string): Promise<void> {
	const retention: Retention = {maxRuns: settings.historyMaxRuns ?? defaultRetention.maxRuns, maxAgeDays: settings.historyMaxAgeDays ?? defaultRetention.maxAgeDays};
	const runs = planPrune(directory, retention, now, added);
	if (runs.length === 0) {
		return;
	}

	try {
		await audit.append({event: 'history.pruned', caller, retention, runs: runs.map(run => ({requestId: run.requestId, reason: run.reason}))});
	} catch {
		return;
	}

	removeRuns(directory, runs);
}
