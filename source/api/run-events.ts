/**
 * A run's events for Server-Sent Events: live runs are followed through a small hub (what has
 * happened so far, then each new event), finished runs are replayed from their history file.
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

export type LiveRuns = {
	/** Registers a run before it starts. */
	begin: (run: LiveRun) => LiveRunHandle;
	/** Forgets a run once its history is complete. */
	end: (requestId: string) => void;
	get: (requestId: string) => LiveRun | undefined;
	/** The events so far, then each new one to `listener`, until `stop`. */
	follow: (requestId: string, listener: (event: RunEvent) => void) => {past: RunEvent[]; stop: () => void} | undefined;
	/**
	 * Cancels a run going on here; says which hosts were running (started, no result yet) and
	 * which were not started. Undefined when the run is not going on here.
	 */
	cancel: (requestId: string, by: {by: string; from: string}) => {running: string[]; notStarted: string[]} | undefined;
	size: () => number;
};

export function createLiveRuns(): LiveRuns {
	const runs = new Map<string, {run: LiveRun; events: RunEvent[]; listeners: Set<(event: RunEvent) => void>; cancel: AbortController}>();
	return {
		begin(run) {
			const entry = {run, events: [] as RunEvent[], listeners: new Set<(event: RunEvent) => void>(), cancel: new AbortController()};
			runs.set(run.requestId, entry);
			return {
				emit(event) {
					entry.events.push(event);
					for (const listener of entry.listeners) {
						listener(event);
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
			return {past: [...entry.events], stop: () => entry.listeners.delete(listener)};
		},
		cancel(requestId, by) {
			const entry = runs.get(requestId);
			if (!entry) {
				return undefined;
			}

			const hosts = hostProgress(entry.run.targets, entry.events);
			if (!entry.cancel.signal.aborted) {
				entry.cancel.abort(by);
			}

			return hosts;
		},
		size: () => runs.size,
	};
}

/** From a run's events so far: the hosts started without a result yet, and those not started. Pure. */
export function hostProgress(targets: readonly string[], events: readonly RunEvent[]): {running: string[]; notStarted: string[]} {
	const started = new Set<string>();
	const finished = new Set<string>();
	for (const event of events) {
		if (event.type === 'agent-connecting' || event.type === 'agent-started' || event.type === 'agent-output') {
			started.add(event.agent);
		} else if (event.type === 'agent-finished') {
			finished.add(event.result.agent);
		}
	}

	return {
		running: targets.filter(name => started.has(name) && !finished.has(name)),
		notStarted: targets.filter(name => !started.has(name) && !finished.has(name)),
	};
}
