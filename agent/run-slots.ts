import {notStartedReason} from './stop-reasons.js';

/**
 * At most `running` at once, at most `queued` waiting; past that refused at once with a clear
 * reason rather than piling up. One already stopped (a cancel, the agent stopping) gets no slot,
 * free or not: the refusal says why. `noun` names what is counted, in the refusal.
 */
class Slots {
	#running = 0;
	readonly #waiting: Array<() => void> = [];

	constructor(private readonly maxRunning: number, private readonly maxQueued: number, private readonly noun: string) {}

	/** Resolves to a release function once a slot is free, or to a refusal when the queue is full. */
	async acquire(signal: AbortSignal): Promise<(() => void) | string> {
		// First: a stop during the hook (or a run frame admitted while the agent stops) must not take a
		// free slot and start. And an abort that already happened fires no event: it must not wait either.
		if (signal.aborted) {
			return notStartedReason(signal.reason, 'before it started');
		}

		if (this.#running < this.maxRunning) {
			this.#running++;
			return this.#releaser();
		}

		if (this.#waiting.length >= this.maxQueued) {
			return `agent busy: ${this.#running} ${this.noun} in progress and ${this.#waiting.length} queued (limits ${this.maxRunning} and ${this.maxQueued})`;
		}

		return new Promise(resolve => {
			const wake = () => {
				signal.removeEventListener('abort', onAbort);
				this.#running++;
				resolve(this.#releaser());
			};

			const onAbort = () => {
				const index = this.#waiting.indexOf(wake);
				if (index !== -1) {
					this.#waiting.splice(index, 1);
				}

				resolve(notStartedReason(signal.reason, 'while queued'));
			};

			this.#waiting.push(wake);
			signal.addEventListener('abort', onAbort, {once: true});
		});
	}

	get running(): number {
		return this.#running;
	}

	#releaser(): () => void {
		let released = false;
		return () => {
			if (released) {
				return;
			}

			released = true;
			this.#running--;
			this.#waiting.shift()?.();
		};
	}
}

/**
 * The agent's concurrency limit: its scripts (`acquire`), and its auth hook's calls (`hookCalls`),
 * each a process, each with the same limits. Without the second, every run frame a controller
 * sent at once (up to maxConnections) had its hook started at once, whatever the run limits.
 */
export class RunSlots extends Slots {
	readonly hookCalls: Slots;

	constructor(maxRunning: number, maxQueued: number) {
		super(maxRunning, maxQueued, 'runs');
		this.hookCalls = new Slots(maxRunning, maxQueued, 'auth hook calls');
	}
}
