/**
 * A run's events for Server-Sent Events: live runs are followed through a small hub (where the
 * run is, then each new event; what happened so far is read from its history), finished runs are
 * replayed from their history file.
 * The event formatting and the replay are pure.
 */
import type {RunEvent} from '../run/events.js';
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

export type LiveRun = {requestId: string; script: string; targets: string[]; dryRun?: boolean};

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
 * What a follower of a live run can read of it here, as the run goes: the events that carry
 * output are not kept here, but are in the run's history, written before each reaches this hub
 * (so once the file is read to its end, the hub's next event is the file's next), with `transient` between them
 * (this hub's own list, appended to as the run goes). `started` and `finished` are the run-started
 * and run-finished events, for the moments before the history file exists and before its end line
 * is written.
 */
export type LiveFollow = {
	started: () => RunEvent | undefined;
	finished: () => TransientEvent | undefined;
	transient: readonly TransientEvent[];
	/**
	 * A dry run's (it has no history file): the N-th event the history would keep, from 0, while the
	 * run is live; each host's result as the few fields a dry run's answer has (keptDryRunEvent), and
	 * no output (dryRunLiveEvent).
	 */
	kept?: (index: number) => RunEvent | undefined;
	/** How many events the history keeps the run has had so far: what a follower that goes live must have read (or been sent) by then. */
	keptCount: () => number;
	stop: () => void;
};

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
	type Entry = {run: LiveRun; keptCount: number; started: RunEvent | undefined; finished: TransientEvent | undefined; transient: TransientEvent[]; kept: RunEvent[] | undefined; progress: HostProgress; listeners: Set<LiveListener>; cancel: AbortController};
	const runs = new Map<string, Entry>();
	return {
		begin(run) {
			const entry: Entry = {run, keptCount: 0, started: undefined, finished: undefined, transient: [], kept: run.dryRun ? [] : undefined, progress: createHostProgress(run.targets), listeners: new Set(), cancel: new AbortController()};
			const number = createEventNumbering();
			runs.set(run.requestId, entry);
			return {
				emit(given) {
					// A dry run has no output: output an agent sends anyway is neither passed on nor kept (dryRunLiveEvent).
					const event = entry.kept ? dryRunLiveEvent(given) : given;
					if (!event) {
						return;
					}

					const {id, position} = number(event);
					if (!keptInHistory(event)) {
						entry.transient.push({event, id, position});
					} else {
						// Before the listeners, as the history line is written before the hub hears of it.
						entry.keptCount++;
						entry.kept?.push(keptDryRunEvent(event));
					}

					entry.started ??= event.type === 'run-started' ? event : undefined;
					entry.finished ??= event.type === 'run-finished' ? {event, id, position} : undefined;
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
			return {
				started: () => entry.started,
				finished: () => entry.finished,
				transient: entry.transient,
				...(entry.kept ? {kept: (index: number) => entry.kept?.[index]} : {}),
				keptCount: () => entry.keptCount,
				stop: () => entry.listeners.delete(listener),
			};
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

/**
 * A live dry run's event as its followers get it: no `agent-output` (a dry run has none; an agent
 * that sends some anyway would have the hub keep it for late followers until the run ends), and
 * each result without output.
 */
export function dryRunLiveEvent(event: RunEvent): RunEvent | undefined {
	if (event.type === 'agent-output') {
		return undefined;
	}

	if (event.type === 'agent-finished' && (event.result.stdout !== '' || event.result.stderr !== '')) {
		return {type: 'agent-finished', result: {...event.result, stdout: '', stderr: ''}};
	}

	return event;
}

/**
 * What a live dry run keeps of an event for a late follower: a host's result as the fields a dry
 * run's answer has (its agent, status, reason and time; a dry run has no output, exit code or
 * signal), not its signed head, link or notes: a few fields per host at any number of hosts.
 */
export function keptDryRunEvent(event: RunEvent): RunEvent {
	if (event.type !== 'agent-finished') {
		return event;
	}

	const {agent, status, durationMs, reason} = event.result;
	return {type: 'agent-finished', result: {agent, status, exitCode: null, signal: null, stdout: '', stderr: '', truncated: false, durationMs, ...(reason === undefined ? {} : {reason})}};
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
