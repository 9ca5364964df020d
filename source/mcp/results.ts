/**
 * A run's outcome as an MCP tool result: the structured answer (`runResultSchema`) and a short
 * text summary. Output is data: each stream is made visible (control characters spelled out) and
 * cut to the token's output budget, shared evenly by every host's two streams, with the cut
 * flagged. The summary names statuses and reasons, never output. Pure.
 */
import type {DryRunDocument} from '../run/dry-run-document.js';
import type {AgentResult} from '../run/events.js';
import {countByStatus} from '../history/run-record.js';
import {cappedOutput, oneLine} from './untrusted-text.js';

export type ToolResult = {
	content: Array<{type: 'text'; text: string}>;
	structuredContent?: Record<string, unknown>;
	isError?: boolean;
};

export type RunAnswer = {requestId: string; script: string; dryRun: boolean; cancelled: boolean; complete: boolean; results: readonly AgentResult[]};

const reasonCap = 500;

export function runToolResult(run: RunAnswer, maxOutputBytes: number): ToolResult {
	const share = Math.floor(maxOutputBytes / Math.max(1, run.results.length * 2));
	const results = run.results.map(result => {
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
	});
	const counts = countByStatus(run.results);
	const allOk = run.results.length > 0 && run.results.every(result => result.status === 'ok');
	return {
		content: [{type: 'text', text: summary(run, results, counts)}],
		structuredContent: {requestId: run.requestId, script: run.script, dryRun: run.dryRun, cancelled: run.cancelled, complete: run.complete, counts, results},
		...(allOk ? {} : {isError: true}),
	};
}

function summary(run: RunAnswer, results: ReadonlyArray<{agent: string; status: string; reason: string | null; exitCode: number | null; outputTruncated: boolean}>, counts: Record<string, number | undefined>): string {
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
