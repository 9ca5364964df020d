/**
 * A run as stored in the controller's history: one JSON line per event, as the run streams, so a
 * controller killed mid-run leaves a readable partial record. Folding the lines back gives the
 * same document `run --json` prints. Pure.
 */
import {XiError} from '../errors.js';
import type {AgentResult, RunEvent} from '../run/events.js';
import {resultDocument} from '../run/result-document.js';
import type {RunStatus} from '../protocol/frames.js';

/** A runbook's step: the runbook run's id and the step's name. */
export type RunParent = {runbook: string; step: string};

export type RunHeader = {
	type: 'run';
	requestId: string;
	script: string;
	args: string[];
	selector: string[];
	caller: string;
	/** The token the run was asked with, when there was one: whose run it is (a token sees only its own). */
	token?: {id: string; name: string};
	startedAt: string;
	targets: string[];
	rerunOf?: string;
	/** The runbook run and step this run is part of. */
	parent?: RunParent;
	/** Some arguments were secret: `args` holds their hashes, so the run cannot be repeated from here. */
	secretArgs?: boolean;
};

export type HistoryLine =
	| RunHeader
	| {type: 'output'; agent: string; stream: 'stdout' | 'stderr'; data: string}
	| {type: 'result'; result: Omit<AgentResult, 'stdout' | 'stderr'>}
	| {type: 'end'; endedAt: string; cancelledBy?: string};

/** The history line for a run event, or nothing for events the history does not keep. */
export function historyLine(event: RunEvent): HistoryLine | undefined {
	switch (event.type) {
		case 'agent-output': {
			return {type: 'output', agent: event.agent, stream: event.stream, data: event.data};
		}

		case 'agent-finished': {
			const {stdout: _stdout, stderr: _stderr, ...result} = event.result;
			return {type: 'result', result};
		}

		default: {
			return undefined;
		}
	}
}

export type StoredRun = {
	header: RunHeader;
	endedAt?: string;
	results: AgentResult[];
	complete: boolean;
	/** Folded with a cap (foldRun's `keep`): each host's whole output in bytes, its `stdout` and `stderr` being only their beginnings. */
	outputBytes?: ReadonlyMap<string, {stdout: number; stderr: number}>;
};

type Streams = {stdout: string; stderr: string};

/**
 * Folds a run file's lines (a torn last line is skipped) back into its results, in target order.
 * With `keep`, each host's stream keeps only its first `keep(header)` UTF-16 code units, and its
 * whole size in bytes is counted (`outputBytes`): a reader that shows a capped beginning of each
 * host's output (MCP's get_run) then holds no more than that, however much the hosts printed.
 */
export function foldRun(lines: Iterable<string>, keep?: (header: RunHeader) => number): StoredRun | undefined {
	let header: RunHeader | undefined;
	let endedAt: string | undefined;
	let limit = Number.POSITIVE_INFINITY;
	const output = new Map<string, Streams>();
	const bytes = keep ? new Map<string, {stdout: number; stderr: number}>() : undefined;
	const results = new Map<string, Omit<AgentResult, 'stdout' | 'stderr'>>();
	for (const line of lines) {
		let parsed: HistoryLine;
		try {
			parsed = JSON.parse(line) as HistoryLine;
		} catch {
			continue;
		}

		switch (parsed.type) {
			case 'run': {
				header = parsed;
				limit = keep ? keep(parsed) : limit;
				break;
			}

			case 'output': {
				const streams = output.get(parsed.agent) ?? {stdout: '', stderr: ''};
				const kept = streams[parsed.stream];
				streams[parsed.stream] = kept.length >= limit ? kept : kept + parsed.data.slice(0, limit - kept.length);
				output.set(parsed.agent, streams);
				if (bytes) {
					const counted = bytes.get(parsed.agent) ?? {stdout: 0, stderr: 0};
					counted[parsed.stream] += Buffer.byteLength(parsed.data);
					bytes.set(parsed.agent, counted);
				}

				break;
			}

			case 'result': {
				results.set(parsed.result.agent, parsed.result);
				break;
			}

			case 'end': {
				endedAt = parsed.endedAt;
				break;
			}
		}
	}

	if (!header) {
		return undefined;
	}

	const folded = header.targets.map(agent => {
		const streams = output.get(agent) ?? {stdout: '', stderr: ''};
		const result = results.get(agent) ?? {agent, status: 'error' as RunStatus, exitCode: null, signal: null, truncated: false, durationMs: 0, reason: 'no result was recorded: the controller stopped before this host answered'};
		return {...result, ...streams};
	});
	return {header, ...(endedAt ? {endedAt} : {}), results: folded, complete: endedAt !== undefined, ...(bytes ? {outputBytes: bytes} : {})};
}

export function runDocument(run: StoredRun) {
	return {
		requestId: run.header.requestId,
		script: run.header.script,
		args: run.header.args,
		...parentOf(run),
		startedAt: run.header.startedAt,
		results: run.results.map(result => resultDocument(result)),
		...runEnd(run.header.startedAt, run.endedAt),
	};
}

/** The end of a run and its whole time (`null` both while it has not ended), as `run --json` closes its document. */
export function runEnd(startedAt: string, endedAt: string | undefined): {endedAt: string | null; durationMs: number | null} {
	return endedAt === undefined ? {endedAt: null, durationMs: null} : {endedAt, durationMs: runDurationMs(startedAt, endedAt)};
}

export function runDurationMs(startedAt: string, endedAt: string): number {
	return Math.max(0, Date.parse(endedAt) - Date.parse(startedAt));
}

/** A runbook step's run names its runbook run and step (`runbooks show ID` lists the step runs); other runs name none. */
function parentOf(run: StoredRun): {parent?: RunParent} {
	return run.header.parent ? {parent: {runbook: run.header.parent.runbook, step: run.header.parent.step}} : {};
}

/** One line of `xi-exec runs --json` and of GET /v1/runs: who ran what, where, when, and the counts by status. */
export function runSummary(run: StoredRun) {
	return {
		requestId: run.header.requestId,
		script: run.header.script,
		args: run.header.args,
		selector: run.header.selector,
		caller: run.header.caller,
		targets: run.header.targets,
		startedAt: run.header.startedAt,
		endedAt: run.endedAt ?? null,
		complete: run.complete,
		...parentOf(run),
		counts: countByStatus(run.results),
	};
}

/** `xi-exec runs show ID [--agent NAME] --json` and GET /v1/runs/{id}[?agent=NAME]: the `run --json` document. */
export function storedRunDocument(run: StoredRun, agent?: string) {
	const results = agent === undefined ? run.results : run.results.filter(result => result.agent === agent);
	if (agent !== undefined && results.length === 0) {
		throw new XiError('AGENT_UNKNOWN', `Run ${run.header.requestId} did not target ${agent}; it targeted ${run.header.targets.join(', ')}.`);
	}

	return runDocument({...run, results});
}

export function countByStatus(results: ReadonlyArray<{status: RunStatus}>): Partial<Record<RunStatus, number>> {
	const counts: Partial<Record<RunStatus, number>> = {};
	for (const {status} of results) {
		counts[status] = (counts[status] ?? 0) + 1;
	}

	return counts;
}
