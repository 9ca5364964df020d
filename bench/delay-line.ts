/**
 * One direction of a connection through the bench's delaying proxy, as a pure schedule: a chunk
 * that reaches the proxy at `now` is delivered `delayMs` later, never before `notBefore` + the
 * delay (the emulated TCP handshake), and never ahead of a chunk that came before it. The end of
 * the stream is an item like any other, so a FIN is delayed too and never overtakes data.
 */
export type Delayed<T> = {at: number; item: T};

export class DelayLine<T> {
	private readonly queue: Array<Delayed<T>> = [];

	constructor(private readonly delayMs: number, private readonly notBefore = 0) {}

	push(item: T, now: number): void {
		const at = Math.max(now, this.notBefore) + this.delayMs;
		// Arrivals are in order and `at` only grows with `now`; a clock that steps back must not reorder.
		const last = this.queue.at(-1)?.at ?? Number.NEGATIVE_INFINITY;
		this.queue.push({at: Math.max(at, last), item});
	}

	/** The items due by `now`, in order, removed from the line. */
	due(now: number): T[] {
		let count = 0;
		while (count < this.queue.length && this.queue[count]!.at <= now) {
			count++;
		}

		return this.queue.splice(0, count).map(entry => entry.item);
	}

	/** When the next item is due, or undefined when the line is empty. */
	nextAt(): number | undefined {
		return this.queue[0]?.at;
	}
}
