/**
 * The describes a run sends to its dispatch threads (thread-pool.ts), before the run: each on the
 * least busy thread, which keeps the connection the agent leaves open when asked to, at most
 * `holdUpTo` kept or asked at once; the host then runs on that thread (sockets cannot move between
 * threads). A thread that stops ends each describe it held as unreachable, with what to do next.
 */
import {debuglog} from 'node:util';
import type {Worker} from 'node:worker_threads';
import type {AgentTarget} from './link-exchange.js';
import type {Discovered} from './discover.js';
import type {AgentRunRequest} from './run-agent.js';
import {lostDescribeNextStep, type ThreadOrder} from './thread-messages.js';

/**
 * One dispatch thread as the main thread sees it: `inFlight` its hosts and describes, `orders`
 * those not yet posted, `revoked` the refused serials its describes were last sent.
 */
export type Thread = {index: number; worker: Worker; alive: boolean; inFlight: number; request?: AgentRunRequest; orders: ThreadOrder[]; revoked?: ReadonlySet<string>};

const noneRevoked: ReadonlySet<string> = new Set();

/** `asked`: whether the thread was asked to keep the connection. */
type Describe = {target: AgentTarget; thread: Thread; asked: boolean; resolve: (found: Discovered) => void};

/** `NODE_DEBUG=xi-exec-threads` (thread-pool.ts). */
const debug = debuglog('xi-exec-threads');

/**
 * The describes a run sends to its threads: which thread keeps which host's connection (the host
 * runs there), and at most `holdUpTo` kept or asked at once.
 */
export function describesOn(threads: readonly Thread[], ids: {next: number}, send: (thread: Thread, order: ThreadOrder) => void) {
	const describes = new Map<number, Describe>();
	const heldIn = new Map<string, Thread>();
	let holdsAsked = 0;
	const found = (id: number, answer: Discovered, held: boolean) => {
		const describe = describes.get(id);
		if (!describe) {
			return;
		}

		describes.delete(id);
		describe.thread.inFlight--;
		holdsAsked -= describe.asked ? 1 : 0;
		if (held) {
			heldIn.set(describe.target.name, describe.thread);
		}

		debug('%s: described (%s) on dispatch thread %d (thread id %d)%s', describe.target.name, answer.status, describe.thread.index + 1, describe.thread.worker.threadId, held ? ', its connection kept there' : '');
		describe.resolve(answer);
	};

	return {
		found,
		describe: (target: AgentTarget, {timeoutMs, revoked, holdUpTo}: {timeoutMs: number; revoked?: ReadonlySet<string>; holdUpTo: number}): Promise<Discovered> | undefined => {
			const thread = leastBusy(threads);
			if (!thread) {
				return undefined;
			}

			const id = ids.next++;
			const asked = heldIn.size + holdsAsked < holdUpTo;
			holdsAsked += asked ? 1 : 0;
			thread.inFlight++;
			// The refused serials go to a thread once, not with every describe (a fleet that renewed once refuses a serial per agent); the target as a thread dials it (direct TLS: its name and address).
			const refused = revoked ?? noneRevoked;
			const changed = thread.revoked !== refused;
			thread.revoked = refused;
			return new Promise<Discovered>(resolve => {
				describes.set(id, {target, thread, asked, resolve});
				send(thread, {type: 'describe', id, target: {name: target.name, address: target.address}, timeoutMs, hold: asked, ...(changed ? {revoked: [...refused]} : {})});
			});
		},

		/** The thread that keeps `agent`'s connection, if it is still running: the host's run goes there (sockets stay in their thread). */
		holder(agent: string): Thread | undefined {
			const thread = heldIn.get(agent);
			heldIn.delete(agent);
			return thread?.alive ? thread : undefined;
		},
		stopped(thread: Thread, why: string) {
			for (const [id, describe] of describes) {
				if (describe.thread === thread) {
					found(id, {name: describe.target.name, address: describe.target.address, status: 'unreachable', reason: `the controller's dispatch thread ${thread.index + 1} stopped while it described this host (${why}): ${lostDescribeNextStep}`, scripts: []}, false);
				}
			}
		},
	};
}

export function leastBusy(threads: readonly Thread[]): Thread | undefined {
	let best: Thread | undefined;
	for (const thread of threads) {
		if (thread.alive && (!best || thread.inFlight < best.inFlight)) {
			best = thread;
		}
	}

	return best;
}
