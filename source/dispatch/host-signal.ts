/**
 * One host's cancel in a run (dispatcher.ts runOne): what its exchange and the dispatch threads
 * listen on, aborted by the run's cancel, its timeouts or the host's idle timeout. An AbortSignal
 * as far as they use one (aborted, reason, addEventListener, removeEventListener), without node's
 * AbortController and EventTarget behind it: those cost ~5 µs and ~1.2 KB per host, for a cancel
 * that almost never comes (measured: .scratch/abort-micro.mjs in the ctl report of session 16).
 *
 * The EventTarget rules a caller can see hold: a listener added twice is called once; one added
 * once the signal is aborted is never called; one removed by an earlier listener during the abort
 * is not called; `once` or not, each is called at most once (an abort happens once); a listener
 * that throws does not stop the others, and its error is thrown on the next tick, as node does.
 */

/** What of an AbortSignal a host's cancel is used for (so an AbortSignal is one too). */
export type CancelSignal = Pick<AbortSignal, 'aborted' | 'reason' | 'addEventListener' | 'removeEventListener'>;

type Listener = EventListenerOrEventListenerObject;

export class HostSignal implements CancelSignal {
	aborted = false;
	reason: unknown = undefined;
	/** The abort listeners in the order added: mostly one (the exchange's), so no array until a second. */
	#listeners: Listener | Listener[] | undefined;

	addEventListener(type: string, listener: Listener | null): void {
		if (type !== 'abort' || !listener || this.aborted || this.#has(listener)) {
			return;
		}

		if (this.#listeners === undefined) {
			this.#listeners = listener;
		} else if (Array.isArray(this.#listeners)) {
			this.#listeners.push(listener);
		} else {
			this.#listeners = [this.#listeners, listener];
		}
	}

	removeEventListener(type: string, listener: Listener | null): void {
		if (type !== 'abort' || !listener) {
			return;
		}

		if (this.#listeners === listener) {
			this.#listeners = undefined;
		} else if (Array.isArray(this.#listeners)) {
			const index = this.#listeners.indexOf(listener);
			if (index !== -1) {
				this.#listeners.splice(index, 1);
			}
		}
	}

	/** Aborts with `reason` (node's AbortError when none), calling each listener once; a second abort does nothing. */
	abort(reason?: unknown): void {
		if (this.aborted) {
			return;
		}

		this.aborted = true;
		this.reason = reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason;
		if (this.#listeners === undefined) {
			return;
		}

		const event = new Event('abort');
		// Taken from the live list one at a time: a listener removed by an earlier one is not called.
		for (let listener = this.#next(); listener; listener = this.#next()) {
			try {
				if (typeof listener === 'function') {
					listener.call(this, event);
				} else {
					listener.handleEvent(event);
				}
			} catch (error) {
				process.nextTick(() => {
					throw error;
				});
			}
		}
	}

	#has(listener: Listener): boolean {
		return this.#listeners === listener || (Array.isArray(this.#listeners) && this.#listeners.includes(listener));
	}

	#next(): Listener | undefined {
		const listeners = this.#listeners;
		if (Array.isArray(listeners)) {
			return listeners.shift();
		}

		this.#listeners = undefined;
		return listeners;
	}
}
