/**
 * Connections kept between a run's describe and the run itself, so that one TLS handshake serves
 * both: an agent whose description says `openForRun` leaves the connection open, the describe's
 * exchange offers it here, and the run's exchange to the same agent takes it instead of dialling.
 * The identity was checked at that connection's handshake, as for any exchange; nothing is kept
 * across connections. At most `capacity` are held (the run's first wave), none longer than
 * `maxAgeMs` (under the agent's idle timeout); one that closes, ends or says anything while held
 * is dropped. `close()` ends whatever was not taken.
 */
import type {TLSSocket} from 'node:tls';
import type {DispatchThreads} from './thread-pool.js';

export type ConnectionHold = {
	/** Keeps `socket` for `agent`'s run; false when full (the caller closes it). */
	offer: (agent: string, socket: TLSSocket) => boolean;
	/** The held connection to `agent`, still open, or undefined: it is the caller's from now on. */
	take: (agent: string) => TLSSocket | undefined;
	/** Whether a connection to `agent` is held (a run to it must go where the socket is: thread-pool.ts). */
	has: (agent: string) => boolean;
	close: () => void;
};

export function createConnectionHold(capacity: number, maxAgeMs = 10_000): ConnectionHold {
	const held = new Map<string, {socket: TLSSocket; timer: NodeJS.Timeout; drop: () => void}>();
	const release = (agent: string) => {
		const entry = held.get(agent);
		if (entry) {
			held.delete(agent);
			clearTimeout(entry.timer);
			entry.socket.off('data', entry.drop).off('end', entry.drop).off('close', entry.drop).off('error', entry.drop);
		}

		return entry?.socket;
	};

	return {
		offer(agent, socket) {
			if (held.size >= capacity || held.has(agent) || socket.destroyed || socket.readableEnded) {
				return false;
			}

			const drop = () => {
				release(agent);
				socket.destroy();
			};

			held.set(agent, {socket, drop, timer: setTimeout(drop, maxAgeMs).unref()});
			socket.on('data', drop).on('end', drop).on('close', drop).on('error', drop);
			return true;
		},
		take(agent) {
			const socket = release(agent);
			return socket && !socket.destroyed && !socket.readableEnded ? socket : undefined;
		},
		has: agent => held.has(agent),
		close() {
			for (const agent of [...held.keys()]) {
				release(agent)?.destroy();
			}
		},
	};
}

/**
 * The connections of one run, from its plan to its end: the face makes one and hands it to both
 * halves of the run use case. Resolving the plan opens a hold the size of the run's first wave for
 * its describe; executing the plan lets the dispatch take from it. Whichever half ends the run
 * (a refusal, a request that could not be recorded, the end of the dispatch) closes it, and so
 * does the face when it is done, so nothing is left open. Not part of the plan: a plan is data and
 * can be kept; connections cannot.
 */
export type RunConnections = {
	/** A new hold of `capacity` connections, replacing (and closing) any earlier one. */
	open: (capacity: number) => ConnectionHold;
	/** The hold opened last, if any. */
	hold: () => ConnectionHold | undefined;
	/**
	 * Dispatch threads the plan's describe ran on (core/run-threads.ts), made with the controller
	 * certificate of `serial`: they keep that describe's connections, so the run goes on with them.
	 * Keeping others stops these; close() stops them.
	 */
	keepThreads: (threads: DispatchThreads, serial: string) => void;
	threads: () => {threads: DispatchThreads; serial: string} | undefined;
	close: () => void;
};

export function createRunConnections(maxAgeMs?: number): RunConnections {
	let current: ConnectionHold | undefined;
	let threads: {threads: DispatchThreads; serial: string} | undefined;
	return {
		open(capacity) {
			current?.close();
			current = createConnectionHold(capacity, maxAgeMs);
			return current;
		},
		hold: () => current,
		keepThreads(kept, serial) {
			void threads?.threads.close();
			threads = {threads: kept, serial};
		},
		threads: () => threads,
		close() {
			current?.close();
			void threads?.threads.close();
			threads = undefined;
		},
	};
}
