/**
 * Refuses a request message seen before, or one whose timestamp is outside the allowed window.
 * Message ids are remembered for twice the window, so a replay cannot outlive its memory. Pure:
 * the clock is passed in, and so is `memory`, where each accepted id is written before it is
 * accepted (replay-memory.ts keeps it in a file, so a restart forgets nothing); when it cannot be
 * written the message is refused (busy), never accepted unremembered. A run frame's id goes to the
 * disk with the run's audit receipt instead (check's `remember`), before anything acts on the run.
 */
export type ReplayVerdict = {ok: true} | {ok: false; code: 'replayed' | 'stale' | 'busy'; reason: string};

export type ReplayMemory = {remember: (messageId: string, seenAt: number) => void};

export class ReplayGuard {
	readonly #seen = new Map<string, number>();

	constructor(private readonly windowMs: number, private readonly maxRemembered = 100_000, private readonly memory?: ReplayMemory) {}

	/** How long an id is kept: twice the window. */
	get keepMs(): number {
		return 2 * this.windowMs;
	}

	/** Ids remembered before (oldest first): those still within `keepMs` of `now` are refused again. */
	restore(entries: Iterable<readonly [string, number]>, now: number): void {
		for (const [id, seenAt] of [...entries].sort((a, b) => a[1] - b[1])) {
			if (seenAt >= now - this.keepMs && !this.#seen.has(id)) {
				this.#seen.set(id, seenAt);
			}
		}
	}

	/** What is remembered now, oldest first (to compact the memory). */
	entries(now: number): Array<[string, number]> {
		this.#forgetBefore(now - this.keepMs);
		return [...this.#seen];
	}

	/**
	 * `remember` false: the caller writes the id to the disk itself before anything acts on the
	 * message (a run frame: its audit receipt carries it, replay-receipts.ts); kept in memory here.
	 */
	check(messageId: string, timestamp: number, now: number, remember = true): ReplayVerdict {
		this.#forgetBefore(now - (2 * this.windowMs));
		if (Math.abs(now - timestamp) > this.windowMs) {
			return {ok: false, code: 'stale', reason: `message timestamp is ${Math.round((now - timestamp) / 1000)} s away from the agent's clock (window ±${this.windowMs / 1000} s)`};
		}

		if (this.#seen.has(messageId)) {
			return {ok: false, code: 'replayed', reason: `message ${messageId} was already received`};
		}

		if (this.#seen.size >= this.maxRemembered) {
			const oldest = this.#seen.keys().next().value;
			if (oldest !== undefined) {
				this.#seen.delete(oldest);
			}
		}

		try {
			if (remember) {
				this.memory?.remember(messageId, now);
			}
		} catch (error) {
			return {ok: false, code: 'busy', reason: `the agent cannot remember message ${messageId} to refuse its replay (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); try again`};
		}

		this.#seen.set(messageId, now);
		return {ok: true};
	}

	#forgetBefore(cutoff: number): void {
		for (const [id, seenAt] of this.#seen) {
			if (seenAt >= cutoff) {
				break;
			}

			this.#seen.delete(id);
		}
	}
}
