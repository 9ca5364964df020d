/**
 * What the agent keeps of its relay runs so that a controller that lost a result on the broker
 * can ask for it (`status`): each run's terminal reply (its result, or the error that ended it)
 * exactly as it was signed and sent, for the freshness window (as long as the request's replay is
 * refused: a request id older than that is unknown anyway). Re-sent verbatim, the result still
 * sits in the run's own reply chain, so the controller's chain check also shows whether output
 * chunks before it were lost (a gap), and a broker cannot pass one request's result off as another's.
 *
 * Kept in memory: an agent that restarted answers "not found", and the controller reports the
 * result as lost rather than guessing. Bounded in count (oldest dropped first). Pure: the clock
 * is passed in.
 */
export type StatusAnswer = {found: boolean; running: boolean; result?: string};

export class RelayResults {
	readonly #ended = new Map<string, {text: string; at: number}>();

	constructor(private readonly keepMs: number, private readonly maxKept = 10_000) {}

	/** The run `id` ended with this signed reply (`text`, as published). */
	remember(id: string, text: string, now: number): void {
		this.#forgetBefore(now - this.keepMs);
		this.#ended.delete(id);
		if (this.#ended.size >= this.maxKept) {
			this.#ended.delete(this.#ended.keys().next().value!);
		}

		this.#ended.set(id, {text, at: now});
	}

	/** What the agent can say of request `id`: still running, ended (with its signed result), or unknown. */
	status(id: string, running: boolean, now: number): StatusAnswer {
		this.#forgetBefore(now - this.keepMs);
		const ended = this.#ended.get(id);
		if (ended) {
			return {found: true, running: false, result: ended.text};
		}

		return {found: running, running};
	}

	#forgetBefore(cutoff: number): void {
		for (const [id, entry] of this.#ended) {
			if (entry.at >= cutoff) {
				break;
			}

			this.#ended.delete(id);
		}
	}
}
