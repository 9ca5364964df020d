/**
 * A run simulated as run-execute.ts writes it (each event's history line appended, then the event
 * given to the live hub, in one synchronous step; the file created at the first host's event),
 * one event per turn of the event loop, and Server-Sent Events followers (run-follow.ts) reading
 * into a counting sink that takes `readPerTurn` bytes per turn: what each follower got, checked
 * against the run's own numbering as it comes, without keeping the events.
 */
import {createEventNumbering, createLiveRuns, formatSse} from '../../source/api/run-events.js';
import {followRunEvents, type EventSink} from '../../source/api/run-follow.js';
import {historyLine, type RunHeader} from '../../source/history/run-record.js';
import {nodeFs} from '../../source/io/durable-fs.js';
import {startRunFile, type RunWriter} from '../../source/history/run-store.js';
import type {AgentResult, RunEvent} from '../../source/run/events.js';

export const simulatedRequestId = '00000000-0000-4000-8000-0000000000bb';

/** `dryRun`: no output and no history file, each host's result a dry run's answer (with what only a live event carries: its link and notes). */
export type SimulatedRun = {hosts: number; chunks: number; chunkBytes: number; parallel: number; dryRun?: boolean};

/** The run's events in order: `parallel` hosts at a time, their output interleaved, each host's result with its whole output. */
export function * runEvents(run: SimulatedRun): Generator<RunEvent> {
	const targets = Array.from({length: run.hosts}, (_, index) => `web${index + 1}`);
	yield {type: 'run-started', requestId: simulatedRequestId, script: 'big', args: [], targets, startedAt: '2026-01-01T00:00:00.000Z'};
	for (let first = 0; first < run.hosts; first += run.parallel) {
		const group = targets.slice(first, first + run.parallel);
		for (const agent of group) {
			yield {type: 'agent-connecting', agent};
			yield {type: 'agent-started', agent};
		}

		for (let chunk = 0; chunk < (run.dryRun ? 0 : run.chunks); chunk++) {
			for (const agent of group) {
				yield {type: 'agent-output', agent, stream: chunk % 2 === 0 ? 'stdout' : 'stderr', data: chunkOf(agent, chunk, run.chunkBytes)};
			}
		}

		for (const agent of group) {
			yield {type: 'agent-finished', result: resultOf(agent, run)};
		}
	}

	yield {type: 'run-finished', requestId: simulatedRequestId};
}

export function chunkOf(agent: string, chunk: number, bytes: number): string {
	const head = `${agent}:${chunk}:`;
	return head + 'x'.repeat(Math.max(0, bytes - head.length - 1)) + '\n';
}

function resultOf(agent: string, run: SimulatedRun): AgentResult {
	if (run.dryRun) {
		return {agent, status: agent.endsWith('2') ? 'denied' : 'ok', exitCode: null, signal: null, stdout: '', stderr: '', truncated: false, durationMs: 4, reason: `dry run: would run (rule ${agent})`, via: 'tls', notes: ['a note only the live event has']};
	}

	const streams = {stdout: '', stderr: ''};
	for (let chunk = 0; chunk < run.chunks; chunk++) {
		streams[chunk % 2 === 0 ? 'stdout' : 'stderr'] += chunkOf(agent, chunk, run.chunkBytes);
	}

	return {agent, status: 'ok', exitCode: 0, signal: null, ...streams, truncated: false, durationMs: 5};
}

/** What one follower got: every id in order (checked as they come), and what its results carried. */
export type FollowerReport = {events: number; outOfOrder: number; finished: number; omitted: number; outputBytes: number; last: string | undefined; results?: AgentResult[]};

/** A sink that checks each id against the expected sequence; `readPerTurn` bytes are taken per turn (Infinity: at once). */
function checkingSink(expected: string[], readPerTurn: number, keepResults: boolean): EventSink & {report: FollowerReport; stop: () => void} {
	const report: FollowerReport = {events: 0, outOfOrder: 0, finished: 0, omitted: 0, outputBytes: 0, last: undefined, ...(keepResults ? {results: []} : {})};
	let unread = 0;
	let waiting: Array<() => void> = [];
	const reader = setInterval(() => {
		unread = Math.max(0, unread - readPerTurn);
		if (unread === 0) {
			const resolved = waiting;
			waiting = [];
			for (const resolve of resolved) {
				resolve();
			}
		}
	}, 1);
	return {
		report,
		send(event, id) {
			if (expected[report.events] !== id) {
				report.outOfOrder++;
			}

			report.events++;
			report.last = id;
			if (event.type === 'agent-finished') {
				report.finished++;
				report.omitted += event.result.outputOmitted ? 1 : 0;
				report.outputBytes += event.result.stdout.length + event.result.stderr.length;
				report.results?.push(event.result);
			}

			unread += Number.isFinite(readPerTurn) ? formatSse(event, id).length : 0;
			return true;
		},
		unread: () => unread,
		drained: async () => new Promise<void>(resolve => {
			if (unread === 0) {
				resolve();
			} else {
				waiting.push(resolve);
			}
		}),
		stop: () => clearInterval(reader),
	};
}

/** `keepResults`: each report keeps the results it got (for small runs). */
export type SimulationOptions = {run: SimulatedRun; directory: string; joinAt: number[]; readPerTurn: number; liveBehindBytes?: number; heldLimitBytes?: number; keepResults?: boolean};

/** Runs the simulation: a follower joins when the run has emitted each of `joinAt` events; resolves with each one's report and the run's event count. */
export async function simulateFollowers(options: SimulationOptions): Promise<{emitted: number; reports: FollowerReport[]}> {
	const live = createLiveRuns();
	const header: RunHeader = {type: 'run', requestId: simulatedRequestId, script: 'big', args: [], selector: ['all'], caller: 'api:t', startedAt: '2026-01-01T00:00:00.000Z', targets: Array.from({length: options.run.hosts}, (_, index) => `web${index + 1}`)};
	const handle = live.begin({requestId: simulatedRequestId, script: 'big', targets: header.targets, ...(options.run.dryRun ? {dryRun: true} : {})});
	const number = createEventNumbering();
	const expected: string[] = [];
	const followers: Array<Promise<FollowerReport>> = [];
	let writer: RunWriter | undefined;
	let emitted = 0;
	const joinRun = () => {
		const sink = checkingSink(expected, options.readPerTurn, options.keepResults ?? false);
		followers.push(followRunEvents({
			file: () => writer?.path,
			follow: listener => live.follow(simulatedRequestId, listener),
			closed: new AbortController().signal,
			...(options.liveBehindBytes === undefined ? {} : {liveBehindBytes: options.liveBehindBytes}),
			...(options.heldLimitBytes === undefined ? {} : {heldLimitBytes: options.heldLimitBytes}),
		}, sink).then(() => {
			sink.stop();
			return sink.report;
		}));
	};

	for (const event of runEvents(options.run)) {
		while (options.joinAt.includes(emitted) && followers.length < options.joinAt.filter(at => at <= emitted).length) {
			joinRun();
		}

		expected.push(number(event).id);
		if (event.type !== 'run-started' && event.type !== 'agent-connecting' && !options.run.dryRun) {
			writer ??= startRunFile(options.directory, header, noSync);
		}

		const line = historyLine(event);
		if (line && writer) {
			writer.write(line);
		}

		handle.emit(event);
		emitted++;
		// One event per turn of the event loop, as a run's events come from its connections.
		await new Promise(resolve => {
			setImmediate(resolve);
		});
	}

	// As run-execute.ts: the end line a little after the hub's run-finished.
	writer?.write({type: 'end', endedAt: '2026-01-01T00:00:01.000Z'});

	const reports = await Promise.all(followers);
	live.end(simulatedRequestId);
	return {emitted, reports};
}

/** The history's writes without their fsyncs: the simulation is about order and memory. */
const noSync = {...nodeFs, fsync: () => undefined};
