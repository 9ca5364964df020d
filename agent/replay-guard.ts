/**
 * Refuses a request message seen before, or one whose timestamp is outside the allowed window.
 * Message ids are remembered for twice the window, so a replay cannot outlive its memory. Pure:
 * the clock is passed in.
 */
export type ReplayVerdict = {ok: true} | {ok: false; code: 'replayed' | 'stale'; reason: string};

export class ReplayGuard {
	readonly #seen = new Map<string, number>();

	constructor(private readonly windowMs: number, private readonly maxRemembered = 100_000) {}

	check(messageId: string, timestamp: number, now: number): ReplayVerdict {
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
