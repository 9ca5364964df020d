/**
 * A run's outcome as an MCP tool result: the structured answer (`runResultSchema`) and a short
 * text summary. Output is data: each stream is made visible (control characters spelled out) and
 * cut to the token's output budget, shared evenly by every host's two streams, with the cut
 * flagged; a live run's hosts are cut as they finish (collectHostViews), not after. The summary names statuses and reasons, never output. Pure.
 */
import type {DryRunDocument} from '../run/dry-run-document.js';
import {collectResults, type ResultCollector} from '../run/collect-results.js';
import type {AgentResult, RunEvent} from '../run/events.js';
import {countByStatus} from '../history/run-record.js';
import {cappedOutput, oneLine} from './untrusted-text.js';

export type ToolResult = {
	content: Array<{type: 'text'; text: string}>;
	structuredContent?: Record<string, unknown>;
	isError?: boolean;
};

export type RunAnswer = {requestId: string; script: string; dryRun: boolean; cancelled: boolean; complete: boolean; results: readonly AgentResult[]};

/** One host as the tool result shows it: its output already cut to its share of the budget. */
export type HostView = ReturnType<typeof hostView>;

const reasonCap = 500;

/** Each host's share of the budget: the budget shared evenly by every host's two streams. */
export function outputShare(maxOutputBytes: number, hosts: number): number {
	return Math.floor(maxOutputBytes / Math.max(1, hosts * 2));
}

/** One host's result cut to its share; nothing of the host's own output is kept beyond it. */
export function hostView(result: AgentResult, share: number) {
	const stdout = cappedOutput(result.stdout, share);
	const stderr = cappedOutput(result.stderr, share);
	return {
		agent: result.agent,
		status: result.status,
		exitCode: result.exitCode,
		signal: result.signal,
		durationMs: Math.max(0, Math.round(result.durationMs)),
		reason: result.reason === undefined ? null : oneLine(result.reason, reasonCap),
		stdout: stdout.text,
		stderr: stderr.text,
		stdoutBytes: stdout.bytes,
		stderrBytes: stderr.bytes,
		outputTruncated: stdout.truncated || stderr.truncated,
		agentTruncated: result.truncated,
	};
}

/**
 * A run's hosts collected for its tool result, each cut to its share of the budget as it
 * finishes (the share is known from the targets when the run starts): the answer never holds
 * more output than the budget, however many hosts print however much. Pure.
 */
export function collectHostViews(maxOutputBytes: number, forward?: (event: RunEvent) => void): ResultCollector<HostView> {
	let share = outputShare(maxOutputBytes, 1);
	const collector = collectResults(forward, result => hostView(result, share));
	return {
		emit(event) {
			if (event.type === 'run-started') {
				share = outputShare(maxOutputBytes, event.targets.length);
			}

			collector.emit(event);
		},
		results: collector.results,
	};
}

/**
 * How much of each host's stream a stored run's reader keeps for its tool result (history's
 * foldRun `keep`): the host's share of the budget, in UTF-16 code units (each is at least one byte
 * once shown), and a few more, so that the cut hostView makes falls inside what was kept.
 */
export function keptOfEachStream(maxOutputBytes: number, hosts: number): number {
	return outputShare(maxOutputBytes, hosts) + 8;
}

/**
 * A stored run as a tool result. `outputBytes`: each host's whole output in bytes, when the run was
 * read with only the beginning of each stream kept (keptOfEachStream): the answer is the same.
 */
export function runToolResult(run: RunAnswer, maxOutputBytes: number, outputBytes?: ReadonlyMap<string, {stdout: number; stderr: number}>): ToolResult {
	const share = outputShare(maxOutputBytes, run.results.length);
	return hostsToolResult(run, run.results.map(result => {
		const view = hostView(result, share);
		const bytes = outputBytes?.get(result.agent);
		return {...view, stdoutBytes: bytes?.stdout ?? (outputBytes ? 0 : view.stdoutBytes), stderrBytes: bytes?.stderr ?? (outputBytes ? 0 : view.stderrBytes)};
	}));
}

/** A run's hosts, already cut (collectHostViews), as a tool result. */
export function hostsToolResult(run: Omit<RunAnswer, 'results'>, results: readonly HostView[]): ToolResult {
	const counts = countByStatus(results);
	const allOk = results.length > 0 && results.every(result => result.status === 'ok');
	return {
		content: [{type: 'text', text: summary(run, results, counts)}],
		structuredContent: {requestId: run.requestId, script: run.script, dryRun: run.dryRun, cancelled: run.cancelled, complete: run.complete, counts, results},
		...(allOk ? {} : {isError: true}),
	};
}

function summary(run: Omit<RunAnswer, 'results'>, results: ReadonlyArray<{agent: string; status: string; reason: string | null; exitCode: number | null; outputTruncated: boolean}>, counts: Record<string, number | undefined>): string {
	const tally = Object.entries(counts).map(([status, count]) => `${count} ${status}`).join(', ') || 'no hosts';
	const what = run.dryRun ? `Dry run of ${run.script} (nothing ran; ok = would run)` : `${run.script}${run.cancelled ? ' (cancelled)' : ''}`;
	const notOk = results.filter(result => result.status !== 'ok').slice(0, 10).map(result => `${result.agent}: ${result.status}${result.exitCode === null ? '' : ` (exit ${result.exitCode})`}${result.reason ? `: ${result.reason}` : ''}`);
	const cut = results.some(result => result.outputTruncated) ? ' Some output was cut to this token\'s output budget.' : '';
	return [`${what}: ${tally}. Request ${run.requestId}.${cut} Each host's output is in the structured result.`, ...notOk].join('\n');
}

/**
 * A dry run: the same document as `run --dry-run --json` and the REST API's, each reason made one
 * visible line (agent-supplied text). Not an error: "would not run" is an answer, not a failure.
 */
export function dryRunToolResult(document: DryRunDocument): ToolResult {
	const targets = document.targets.map(target => ({...target, reason: oneLine(target.reason, reasonCap)}));
	const yes = targets.filter(target => target.wouldRun).length;
	const notRun = targets.filter(target => !target.wouldRun).slice(0, 10).map(target => `${target.agent}: would not run: ${target.reason}`);
	return {
		content: [{type: 'text', text: [`Dry run of ${document.script}: ${yes} would run, ${targets.length - yes} would not (nothing ran). Request ${document.requestId}.`, ...notRun].join('\n')}],
		structuredContent: {...document, args: [...document.args], targets},
	};
}

/** A refusal before anything ran (scope, limits, policy before dialling, a revoked token): the exact reason, as a tool error. */
export function refusalResult(code: string, message: string): ToolResult {
	return {content: [{type: 'text', text: `${code}: ${message}`}], isError: true};
}

/** A structured answer that is not a run (listings, a cancel). */
export function dataResult(text: string, data: Record<string, unknown>): ToolResult {
	return {content: [{type: 'text', text}], structuredContent: data};
}
