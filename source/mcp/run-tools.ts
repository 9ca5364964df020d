/** The tools over this token's own runs: `list_runs`, `get_run`, `cancel_run` (here, or on the agents of a recorded run). */
import {cancelRecordedRun} from '../core/cancel-run.js';
import {historyDirectory, listRuns} from '../history/run-store.js';
import {keptOfEachStream, runToolResult, type ToolResult} from './results.js';
import {cancelResult, liveCancelAnswers, recordedCancelAnswers, runListResult} from './run-answers.js';
import type {SessionContext} from './session-context.js';

export function listOwnRuns(session: SessionContext, limit: number): ToolResult {
	const runs = listRuns(historyDirectory(session.ports.paths), 1000).filter(run => session.isOwn(run.header)).slice(0, limit);
	return runListResult(runs, session.who);
}

/** The run read with only as much of each host's output as the answer shows (the budget's share), as the live path cuts it. */
export function getOwnRun(session: SessionContext, requestId: string): ToolResult {
	const {maxOutputBytes} = session.ports;
	const run = session.ownRun(requestId, header => keptOfEachStream(maxOutputBytes, header.targets.length));
	const result = runToolResult({requestId: run.header.requestId, script: run.header.script, dryRun: false, cancelled: run.results.some(host => host.status === 'cancelled'), complete: run.complete, results: run.results}, maxOutputBytes, run.outputBytes);
	// A finished run is an answer, whatever its hosts' statuses.
	delete result.isError;
	return result;
}

/** A run of this process is stopped here; a recorded one (another process's, or an earlier one) on its agents. */
export async function cancelOwnRun(session: SessionContext, requestId: string): Promise<ToolResult> {
	session.ownRun(requestId);
	const {ports} = session;
	const here = ports.live.get(requestId);
	if (here) {
		const agents = liveCancelAnswers(here);
		here.cancel.abort();
		return cancelResult(requestId, agents);
	}

	const answer = await cancelRecordedRun({paths: ports.paths, registry: ports.registry, audit: () => ports.audit, context: ports.context()}, {requestId, caller: session.who, ...session.source});
	return cancelResult(requestId, recordedCancelAnswers(answer.answers));
}
