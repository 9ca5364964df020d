/**
 * A run's events for Server-Sent Events: live runs are followed through a small hub (where the
 * run is, then each new event; what happened so far is read from its history), finished runs are
 * replayed from their history file.
 * The event formatting and the replay are pure.
 */
import type {AgentResult, RunEvent} from '../run/events.js';
import {runDurationMs, type HistoryLine} from '../history/run-record.js';
import {safeJson} from '../output/visible.js';

/** One event as an SSE message: `event` is its type, `data` its JSON (one line: JSON escapes newlines). */
export function formatSse(event: RunEvent, id: string): string {
	return `id: ${id}\nevent: ${event.type}\ndata: ${safeJson(event)}\n\n`;
}

/**
 * Event ids that mean the same event whether it streams live or is replayed from the history
 * (which keeps run-started, output, results and the end, but not connecting/started): an event
 * the history keeps is `N`, the N-th such event of the run (from 0); one it does not keep is
 * `N.K`, the K-th (from 1) after event N. A client that reconnects with `Last-Event-ID` gets the
 * events after that one, from the live run or from the history alike.
 */
export type EventPosition = {kept: number; after: number};

export function keptInHistory(event: RunEvent): boolean {
	return event.type !== 'agent-connecting' && event.type !== 'agent-started';
}

/** Numbers a run's events in order, from its first. */
export function createEventNumbering(): (event: RunEvent) => {id: string; position: EventPosition} {
	let kept = -1;
	let after = 0;
	return event => {
		if (keptInHistory(event)) {
			kept++;
			after = 0;
			return {id: String(kept), position: {kept, after}};
		}

		after++;
		const position = {kept: Math.max(kept, 0), after};
		return {id: `${position.kept}.${after}`, position};
	};
}

export function parseEventId(text: string): EventPosition | undefined {
	const match = /^(\d{1,9})(?:\.(\d{1,9}))?$/.exec(text.trim());
	return match ? {kept: Number(match[1]), after: Number(match[2] ?? 0)} : undefined;
}

export function isAfter(position: EventPosition, last: EventPosition): boolean {
	return position.kept > last.kept || (position.kept === last.kept && position.after > last.after);
}

/** The events of a stored run, rebuilt from its history lines; no `run-finished` when it never ended. */
export function replayHistory(lines: readonly string[]): RunEvent[] {
	const events: RunEvent[] = [];
	const output = new Map<string, {stdout: string; stderr: string}>();
	for (const text of lines) {
		let line: HistoryLine;
		try {
			line = JSON.parse(text) as HistoryLine;
		} catch {
			continue; // A torn last line.
		}

		switch (line.type) {
			case 'run': {
				events.push({type: 'run-started', requestId: line.requestId, script: line.script, args: line.args, targets: line.targets, startedAt: line.startedAt});
				break;
			}

			case 'output': {
				const streams = output.get(line.agent) ?? {stdout: '', stderr: ''};
				streams[line.stream] += line.data;
				output.set(line.agent, streams);
				events.push({type: 'agent-output', agent: line.agent, stream: line.stream, data: line.data});
				break;
			}

			case 'result': {
				const result: AgentResult = {...line.result, ...(output.get(line.result.agent) ?? {stdout: '', stderr: ''})};
				events.push({type: 'agent-finished', result});
				break;
			}

			case 'end': {
				const started = events[0];
				const times = started?.type === 'run-started' && started.startedAt !== undefined ? {endedAt: line.endedAt, durationMs: runDurationMs(started.startedAt, line.endedAt)} : {};
				events.push({type: 'run-finished', requestId: started?.type === 'run-started' ? started.requestId : '', ...times});
				break;
			}
		}
	}

	return events;
}

export type LiveRun = {requestId: string; script: string; targets: string[]};

export type LiveRunHandle = {
	/** Takes each of the run's events. */
	emit: (event: RunEvent) => void;
	/** Aborted by `cancel`, with who cancelled and from where as the reason. */
	cancel: AbortController;
};

/** Each new event of a live run, with its id and position in the run (createEventNumbering). */
export type LiveListener = (event: RunEvent, id: string, position: EventPosition) => void;

/** An event the history does not keep (connecting, started: a host's name, no output), with its id. */
export type TransientEvent = {event: RunEvent; id: string; position: EventPosition};

/**
 * What a follower joining a live run is told: the events that carry output are not kept here,
 * but are in the run's history, written before each reaches this hub: the first `kept` events the
 * history keeps are the past, with `transient` between them; `started` is the run-started event,
 * for the moment before the history file exists.
 */
export type LiveFollow = {kept: number; started: RunEvent | undefined; transient: readonly TransientEvent[]; stop: () => void};

export type LiveRuns = {
	/** Registers a run before it starts. */
	begin: (run: LiveRun) => LiveRunHandle;
	/** Forgets a run once its history is complete. */
	end: (requestId: string) => void;
	get: (requestId: string) => LiveRun | undefined;
	/** Where the run is now, then each new event to `listener`, until `stop`. */
	follow: (requestId: string, listener: LiveListener) => LiveFollow | undefined;
	/**
	 * Cancels a run going on here; says which hosts were running (started, no result yet) and
	 * which were not started. Undefined when the run is not going on here.
	 */
	cancel: (requestId: string, by: {by: string; from: string}) => {running: string[]; notStarted: string[]} | undefined;
	size: () => number;
};

/** The live runs of this server. Each holds its hosts' names, progress and transient events, never their output. */
export function createLiveRuns(): LiveRuns {
	type Entry = {run: LiveRun; kept: number; started: RunEvent | undefined; transient: TransientEvent[]; progress: HostProgress; listeners: Set<LiveListener>; cancel: AbortController};
	const runs = new Map<string, Entry>();
	return {
		begin(run) {
			const entry: Entry = {run, kept: 0, started: undefined, transient: [], progress: createHostProgress(run.targets), listeners: new Set(), cancel: new AbortController()};
			const number = createEventNumbering();
			runs.set(run.requestId, entry);
			return {
				emit(event) {
					const {id, position} = number(event);
					if (keptInHistory(event)) {
						entry.kept = position.kept + 1;
					} else {
						entry.transient.push({event, id, position});
					}

					entry.started ??= event.type === 'run-started' ? event : undefined;
					entry.progress.observe(event);
					for (const listener of entry.listeners) {
						listener(event, id, position);
					}
				},
				cancel: entry.cancel,
			};
		},
		end(requestId) {
			runs.delete(requestId);
		},
		get: requestId => runs.get(requestId)?.run,
		follow(requestId, listener) {
			const entry = runs.get(requestId);
			if (!entry) {
				return undefined;
			}

			entry.listeners.add(listener);
			return {kept: entry.kept, started: entry.started, transient: [...entry.transient], stop: () => entry.listeners.delete(listener)};
		},
		cancel(requestId, by) {
			const entry = runs.get(requestId);
			if (!entry) {
				return undefined;
			}

			const hosts = entry.progress.now();
			if (!entry.cancel.signal.aborted) {
				entry.cancel.abort(by);
			}

			return hosts;
		},
		size: () => runs.size,
	};
}

type HostProgress = {observe: (event: RunEvent) => void; now: () => {running: string[]; notStarted: string[]}};

/** Which hosts have started and which have a result, as events come. Pure. */
export function createHostProgress(targets: readonly string[]): HostProgress {
	const started = new Set<string>();
	const finished = new Set<string>();
	return {
		observe(event) {
			if (event.type === 'agent-connecting' || event.type === 'agent-started' || event.type === 'agent-output') {
				started.add(event.agent);
			} else if (event.type === 'agent-finished') {
				finished.add(event.result.agent);
			}
		},
		now: () => ({
			running: targets.filter(name => started.has(name) && !finished.has(name)),
			notStarted: targets.filter(name => !started.has(name) && !finished.has(name)),
		}),
	};
}

/** From a run's events so far: the hosts started without a result yet, and those not started. Pure. */
export function hostProgress(targets: readonly string[], events: readonly RunEvent[]): {running: string[]; notStarted: string[]} {
	const progress = createHostProgress(targets);
	for (const event of events) {
		progress.observe(event);
	}

	return progress.now();
}
