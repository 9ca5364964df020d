/**
 * A run's events for Server-Sent Events, rebuilt from its history lines one line at a time (a
 * finished run's replay, a late follower catching up with a live one), and each `agent-finished`
 * given its host's output within a bound, live or replayed alike. Pure.
 *
 * The history keeps each host's output as `output` lines and its result without it; the event
 * `agent-finished` carries the host's whole stdout and stderr. So a host's output is held from
 * its first line to its result, and dropped then: what is held at once is the output of the
 * hosts running at the same point of the run, never the run's. Past `heldLimitBytes` held at once
 * (many hosts printing at the same time), the host whose output would pass it is no longer held:
 * its `agent-finished` comes with stdout and stderr empty and `outputOmitted` (its bytes, and
 * where its full result is), as the waited answer of POST /v1/runs does for a slow client. A
 * streaming client has lost nothing: every byte went out in the host's `agent-output` events.
 * A live `agent-finished` (the dispatcher's, with the host's whole output) goes through the same
 * hold (createHeldOutput), so an event is the same live and replayed. A live follower that did not
 * get all of a host's output events (its catch-up could not read the history) is given that
 * host's output from the live result, within the same limit, or `outputOmitted`: never less
 * output than the host printed, as if it were all.
 */
import type {HistoryLine} from '../history/run-record.js';
import {runDurationMs} from '../history/run-record.js';
import type {AgentResult, OutputOmitted, RunEvent} from '../run/events.js';

/** Output held at once for the hosts' results, across hosts (the waited answer's limit too). */
export const defaultReplayHeldBytes = 4 * 1024 * 1024;

export const replayOmittedReason = 'an event stream holds at most 4 MiB of output for results: this host\'s output went out in its agent-output events';

/** For a live follower that missed some of the host's output events. */
export const missedOmittedReason = 'an event stream holds at most 4 MiB of output for results, and this stream missed some of this host\'s agent-output events: its full result is at the link';

type Streams = {stdout: number; stderr: number};
type Held = {stdout: string; stderr: string; bytes: Streams; chars: Streams; omitted: boolean};

/**
 * Each event of a run, in order, with each `agent-finished`'s output taken from the host's
 * `agent-output` events seen before it, within the limit. `live`: the event is the live run's, and
 * a result then carries the host's whole output (one from the history carries none): when the
 * events seen here are not all of it, the result's own output is sent within the limit.
 */
export function createHeldOutput(options: {heldLimitBytes?: number} = {}): (event: RunEvent, live: boolean) => RunEvent {
	const limit = options.heldLimitBytes ?? defaultReplayHeldBytes;
	const output = new Map<string, Held>();
	let held = 0;
	let requestId = '';
	const hold = (line: Extract<RunEvent, {type: 'agent-output'}>) => {
		let host = output.get(line.agent);
		if (!host) {
			host = {stdout: '', stderr: '', bytes: {stdout: 0, stderr: 0}, chars: {stdout: 0, stderr: 0}, omitted: false};
			output.set(line.agent, host);
		}

		const bytes = Buffer.byteLength(line.data);
		host.bytes[line.stream] += bytes;
		host.chars[line.stream] += line.data.length;
		if (host.omitted) {
			return;
		}

		if (held + bytes > limit) {
			held -= host.bytes.stdout + host.bytes.stderr - bytes;
			host.stdout = '';
			host.stderr = '';
			host.omitted = true;
			return;
		}

		held += bytes;
		host[line.stream] += line.data;
	};

	const omit = (result: AgentResult, bytes: Streams, reason: string): AgentResult => {
		const omitted: OutputOmitted = {stdoutBytes: bytes.stdout, stderrBytes: bytes.stderr, reason, result: `/v1/runs/${requestId}?agent=${encodeURIComponent(result.agent)}`};
		return {...result, stdout: '', stderr: '', outputOmitted: omitted};
	};

	/** A live result, whose output is the host's whole output: all of it was seen here, or some was missed. */
	const finishedLive = (result: AgentResult, host: Held | undefined): AgentResult => {
		if (host && host.chars.stdout === result.stdout.length && host.chars.stderr === result.stderr.length) {
			return host.omitted ? omit(result, host.bytes, replayOmittedReason) : result;
		}

		const bytes = {stdout: Buffer.byteLength(result.stdout), stderr: Buffer.byteLength(result.stderr)};
		return held + bytes.stdout + bytes.stderr > limit ? omit(result, bytes, missedOmittedReason) : result;
	};

	const finished = (result: AgentResult, live: boolean): AgentResult => {
		const host = output.get(result.agent);
		output.delete(result.agent);
		if (host && !host.omitted) {
			held -= host.bytes.stdout + host.bytes.stderr;
		}

		if (live) {
			return finishedLive(result, host);
		}

		if (!host) {
			return {...result, stdout: '', stderr: ''};
		}

		return host.omitted ? omit(result, host.bytes, replayOmittedReason) : {...result, stdout: host.stdout, stderr: host.stderr};
	};

	return (event, live) => {
		if (event.type === 'run-started') {
			requestId = event.requestId;
		} else if (event.type === 'agent-output') {
			hold(event);
		} else if (event.type === 'agent-finished') {
			return {type: 'agent-finished', result: finished(event.result, live)};
		}

		return event;
	};
}

/** Makes each history line into the event it stands for, or nothing (a torn line); `agent-finished` without output. */
export function createLineEvents(): (text: string) => RunEvent | undefined {
	let started: Extract<RunEvent, {type: 'run-started'}> | undefined;
	return text => {
		let line: HistoryLine;
		try {
			line = JSON.parse(text) as HistoryLine;
		} catch {
			return undefined; // A torn last line.
		}

		switch (line.type) {
			case 'run': {
				started = {type: 'run-started', requestId: line.requestId, script: line.script, args: line.args, targets: line.targets, startedAt: line.startedAt};
				return started;
			}

			case 'output': {
				return {type: 'agent-output', agent: line.agent, stream: line.stream, data: line.data};
			}

			case 'result': {
				return {type: 'agent-finished', result: {...line.result, stdout: '', stderr: ''}};
			}

			case 'end': {
				const times = started?.startedAt === undefined ? {} : {endedAt: line.endedAt, durationMs: runDurationMs(started.startedAt, line.endedAt)};
				return {type: 'run-finished', requestId: started?.requestId ?? '', ...times};
			}

			default: {
				return undefined;
			}
		}
	};
}

/** Each history line as its event, each result with its output held (createHeldOutput), or nothing (a torn line). */
export function createReplay(options: {heldLimitBytes?: number} = {}): (text: string) => RunEvent | undefined {
	const lineEvent = createLineEvents();
	const held = createHeldOutput(options);
	return text => {
		const event = lineEvent(text);
		return event && held(event, false);
	};
}

/** The events of a stored run, rebuilt from its history lines; no `run-finished` when it never ended. */
export function replayHistory(lines: Iterable<string>, options: {heldLimitBytes?: number} = {}): RunEvent[] {
	const replay = createReplay(options);
	const events: RunEvent[] = [];
	for (const text of lines) {
		const event = replay(text);
		if (event) {
			events.push(event);
		}
	}

	return events;
}
