/**
 * A run's events in order, each exactly once, for one Server-Sent Events client, in bounded
 * memory: a stored run is replayed from its history file a block at a time (history/read-lines.ts,
 * run-replay.ts), writing no faster than the client reads; a live run is caught up with the same
 * way, then followed live from the hub (run-events.ts createLiveRuns).
 *
 * The history file is written before each event reaches the hub, in the same synchronous step,
 * so once the file is read to its end the hub's next event is the file's next: the follower goes
 * live there. Every event has its position (createEventNumbering), and none is sent at or before
 * the last one sent, so an event both in the file and from the hub goes out once. The events the
 * history does not keep (connecting, started) come from the hub's list between the file's. A live
 * follower whose client falls `liveBehindBytes` behind stops taking live events and catches up
 * from the file again, which the run never waits for. A live follower whose catch-up cannot give
 * every event the run has had (its history file cannot be opened: EMFILE, pruned) does not go
 * live: the stream ends, saying so (FollowGap), rather than miss them silently; so does the replay of
 * a stored run (or one that has just ended) whose history file is there but cannot be opened.
 */
import {openLineReader, type LineReader} from '../history/read-lines.js';
import type {RunEvent} from '../run/events.js';
import {createEventNumbering, isAfter, type EventPosition, type LiveFollow, type LiveListener, type TransientEvent} from './run-events.js';
import {createHeldOutput, createLineEvents} from './run-replay.js';

/** Where the client's events go; `send` answers false once nothing more can be sent. */
export type EventSink = {
	send: (event: RunEvent, id: string) => boolean;
	/** Bytes written and not yet taken by the client. */
	unread: () => number;
	/** Resolves once the client has taken what was written, or the stream has ended. */
	drained: () => Promise<void>;
};

export type FollowSource = {
	/** The run's history file, once it exists. */
	file: () => string | undefined;
	/** Registers `listener` with the live run; undefined for a stored run (or one that has just ended). */
	follow?: (listener: LiveListener) => LiveFollow | undefined;
	/** The client's Last-Event-ID: only the events after it are sent. */
	last?: EventPosition;
	/** Aborted when the stream ends (the client left). */
	closed: AbortSignal;
	heldLimitBytes?: number;
	/** Unread bytes past which a catch-up waits for the client (default 64 KiB), and a live follower goes back to the file (4 MiB). */
	catchUpBehindBytes?: number;
	liveBehindBytes?: number;
};

/**
 * Why a follower stopped before run-finished: `missed` events of a live run could not be read from
 * its history (`why`); without `missed`, a replay's history file could not be opened at all (`code`).
 */
export type FollowGap = {missed?: number; why: string; code?: string};

/**
 * Sends the run's events to `sink` until run-finished, the end of a stored run, or the client
 * leaving; or, when a live follower's catch-up would miss events, until then, answering the gap.
 */
export async function followRunEvents(source: FollowSource, sink: EventSink): Promise<FollowGap | undefined> {
	const catchUpBehind = source.catchUpBehindBytes ?? 65_536;
	const liveBehind = source.liveBehindBytes ?? 4 * 1024 * 1024;
	let cursor: EventPosition | undefined;
	let done = false;
	let live = false;
	let wake: () => void = () => undefined;
	// Every event passes here once, in order, from the file or live: each result's output is held the same way for both.
	const held = createHeldOutput(source.heldLimitBytes === undefined ? {} : {heldLimitBytes: source.heldLimitBytes});
	// `live`: the hub's event (a result with the host's whole output), not the file's.
	const offer = (event: RunEvent, id: string, position: EventPosition, live: boolean) => {
		if (done || (cursor && !isAfter(position, cursor))) {
			return;
		}

		cursor = position;
		const bounded = held(event, live);
		if ((!source.last || isAfter(position, source.last)) && !sink.send(bounded, id)) {
			done = true;
		}

		done ||= event.type === 'run-finished';
	};

	const hub = source.follow?.((event, id, position) => {
		if (!live) {
			return; // The catch-up reads it from the file (or the hub's list).
		}

		offer(event, id, position, true);
		if (done || sink.unread() > liveBehind) {
			live = false;
			wake();
		}
	});
	const file = createFileFollower(source, hub, offer);
	source.closed.addEventListener('abort', () => wake(), {once: true});
	try {
		for (;;) {
			// Read to the end written so far and go live in one synchronous step: no event can come between.
			if (file.read(() => done || source.closed.aborted, () => sink.unread() > catchUpBehind) === 'behind') {
				await sink.drained();
				continue;
			}

			if (done || source.closed.aborted || !hub) {
				file.finish();
				// A replay that could not open its history file has sent nothing: it says why, rather than end as an empty run.
				return done || source.closed.aborted ? undefined : file.unopened();
			}

			const gap = file.lagging();
			if (gap) {
				return gap;
			}

			live = !done;
			if (live) {
				await new Promise<void>(resolve => {
					wake = resolve;
				});
			}

			if (done || source.closed.aborted) {
				return undefined;
			}

			await sink.drained();
		}
	} finally {
		hub?.stop();
		file.close();
	}
}

type Offer = (event: RunEvent, id: string, position: EventPosition, live: boolean) => void;

/** The history file read on from where it stopped, its events numbered and the hub's transient ones put between them. */
function createFileFollower(source: FollowSource, hub: LiveFollow | undefined, offer: Offer) {
	const replay = createLineEvents();
	const number = createEventNumbering();
	let reader: LineReader | undefined;
	// The error code the file could not be opened with.
	let failed: string | undefined;
	let kept = 0;
	let transientNext = 0;
	const transientBefore = (index: number) => {
		const list: readonly TransientEvent[] = hub?.transient ?? [];
		while (transientNext < list.length && list[transientNext]!.position.kept < index) {
			const {event, id, position} = list[transientNext++]!;
			offer(event, id, position, true);
		}
	};

	/** `live`: the event is the hub's own (a dry run's list), not rebuilt from a history line. */
	const fromFile = (event: RunEvent, live = false) => {
		const {id, position} = number(event);
		kept++;
		transientBefore(position.kept);
		offer(event, id, position, live);
	};

	const open = () => {
		reader ??= openReader(source.file(), code => (failed = code));
		return reader;
	};

	return {
		/** Reads the file on to the end written so far, or until the client is behind. */
		read(stop: () => boolean, behind: () => boolean): 'end' | 'behind' {
			// A dry run has no history file: the hub keeps its events the history would (a few fields per host).
			if (hub?.kept) {
				for (let event = hub.kept(kept); event !== undefined && !stop(); event = hub.kept(kept)) {
					fromFile(event, true);
					if (behind()) {
						return 'behind';
					}
				}

				return 'end';
			}

			const lines = open();
			for (let text = lines?.next(); text !== undefined && !stop(); text = lines?.next()) {
				const event = replay(text);
				if (event) {
					fromFile(event);
					if (behind()) {
						return 'behind';
					}
				}
			}

			return 'end';
		},
		/** A stored run read to its end: its torn last line, if any (which replays as nothing). */
		finish() {
			const torn = reader?.rest();
			const event = torn === undefined ? undefined : replay(torn);
			if (event) {
				fromFile(event);
			}
		},
		/** What the hub has that the file does not have yet: run-started before the file exists, the transient events, run-finished before the end line; or, when the file did not give some other event, the gap (nothing is sent). */
		lagging(): FollowGap | undefined {
			const started = hub?.started();
			const next = Math.max(kept, started ? 1 : 0);
			const finished = hub?.finished();
			const missed = (hub?.keptCount() ?? 0) - (finished?.position.kept === next ? next + 1 : next);
			if (missed > 0) {
				return {missed, why: reader ? 'ended early' : (failed ? `could not be opened (${failed})` : 'was not found')};
			}

			if (kept === 0 && started) {
				transientBefore(0);
				offer(started, '0', {kept: 0, after: 0}, true);
			}

			transientBefore(next);
			if (finished?.position.kept === next) {
				offer(finished.event, finished.id, finished.position, true);
			}

			return undefined;
		},
		/** A replay's gap: its history file is there but could not be opened (not a dry run's, which has none). */
		unopened(): FollowGap | undefined {
			return reader || failed === undefined ? undefined : {why: `could not be opened (${failed})`, code: failed};
		},
		close() {
			reader?.close();
		},
	};
}

/** The history file's reader, once the file exists; `failed` is told why it could not be opened (its error code). */
function openReader(path: string | undefined, failed: (code: string) => void): LineReader | undefined {
	try {
		return path === undefined ? undefined : openLineReader(path);
	} catch (error) {
		// Removed (pruned) since: nothing more to read. A live run's follower then stops (lagging).
		failed((error as NodeJS.ErrnoException).code ?? 'error');
		return undefined;
	}
}
