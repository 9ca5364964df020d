/**
 * How `list_runs` and `cancel_run` answer, from what the history and the live runs say. Pure:
 * run-tools.ts reads the history and cancels; this words and shapes the answers.
 */
import {countByStatus} from '../history/run-record.js';
import type {CancelAnswer} from '../core/cancel-run.js';
import type {StoredRun} from '../history/run-record.js';
import {dataResult, type ToolResult} from './results.js';
import type {LiveRun} from './session-ports.js';
import {oneLine} from './untrusted-text.js';

/** One agent's answer to `cancel_run`. */
export type CancelView = {agent: string; outcome: CancelAnswer['outcome']; reason: string | null};

export function runListResult(runs: readonly StoredRun[], who: string): ToolResult {
	return dataResult(`${runs.length} ${runs.length === 1 ? 'run' : 'runs'} by ${who}.`, {runs: runs.map(run => ({requestId: run.header.requestId, script: run.header.script, targets: run.header.targets, startedAt: run.header.startedAt, endedAt: run.endedAt ?? null, complete: run.complete, counts: countByStatus(run.results)}))});
}

/** A run of this process, cancelled here: the hosts it was running on, and the ones it was not (yet). */
export function liveCancelAnswers(live: Pick<LiveRun, 'running' | 'targets'>): CancelView[] {
	const running = [...live.running];
	return [
		...running.map(agent => ({agent, outcome: 'cancelled' as const, reason: null})),
		...live.targets.filter(agent => !running.includes(agent)).map(agent => ({agent, outcome: 'not running' as const, reason: 'not running here: finished, or not started yet (then it will not be)'})),
	];
}

/** A recorded run cancelled on its agents: each agent's answer, its reason made one visible line (agent-supplied text). */
export function recordedCancelAnswers(answers: readonly CancelAnswer[]): CancelView[] {
	return answers.map(entry => ({agent: entry.agent, outcome: entry.outcome, reason: entry.reason === undefined ? null : oneLine(entry.reason, 300)}));
}

export function cancelResult(requestId: string, agents: readonly CancelView[]): ToolResult {
	const cancelled = agents.filter(agent => agent.outcome === 'cancelled').length;
	return dataResult(`Run ${requestId}: cancelled on ${cancelled} ${cancelled === 1 ? 'host' : 'hosts'}.`, {requestId, agents});
}
