/**
 * What the agent keeps of its relay runs so that a controller that lost a result on the broker
 * can ask for it (`status`): each run's terminal reply (its result, or the error that ended it)
 * exactly as it was signed and sent, for the freshness window (as long as the request's replay is
 * refused: a request id older than that is unknown anyway). Re-sent verbatim, the result still
 * sits in the run's own reply chain, so the controller's chain check also shows whether output
 * chunks before it were lost (a gap), and a broker cannot pass one request's result off as another's.
 *
 * Each result is handed to `memory` (relay-results-file.ts keeps them in the agent's home) as it is
 * remembered, before it is published, and `restore` takes them back after a restart: an agent
 * killed between sending a result and the controller reading it still answers with it. Bounded in
 * count (oldest dropped first) and age. Pure: the clock and the memory are passed in.
 */
export type StatusAnswer = {found: boolean; running: boolean; result?: string};

/** One kept result: the request id, the signed terminal reply as published, when it ended. */
export type KeptResult = {id: string; text: string; at: number};

export type ResultMemory = {remember: (kept: KeptResult) => void};

export class RelayResults {
	readonly #ended = new Map<string, {text: string; at: number}>();

	constructor(readonly keepMs: number, private readonly maxKept = 10_000, private readonly memory?: ResultMemory) {}

	/**
	 * The run `id` ended with this signed reply (`text`, as published). Kept in memory in any case;
	 * throws when the memory port cannot keep it (the caller says so and publishes all the same).
	 */
	remember(id: string, text: string, now: number): void {
		this.#keep({id, text, at: now}, now);
		this.memory?.remember({id, text, at: now});
	}

	/** The run `id` ended with this signed reply, which its audit record already keeps (relay-end-records.ts): kept in memory only. */
	keep(id: string, text: string, now: number): void {
		this.#keep({id, text, at: now}, now);
	}

	/** Results kept before (a restart): those still within the window, the newest `maxKept`. */
	restore(kept: Iterable<KeptResult>, now: number): void {
		for (const entry of [...kept].sort((a, b) => a.at - b.at)) {
			if (entry.at >= now - this.keepMs && entry.at <= now + this.keepMs) {
				this.#keep(entry, now);
			}
		}
	}

	/** What is kept now, oldest first (to compact the memory). */
	entries(now: number): KeptResult[] {
		this.#forgetBefore(now - this.keepMs);
		return [...this.#ended].map(([id, {text, at}]) => ({id, text, at}));
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

	#keep({id, text, at}: KeptResult, now: number): void {
		this.#forgetBefore(now - this.keepMs);
		this.#ended.delete(id);
		if (this.#ended.size >= this.maxKept) {
			this.#ended.delete(this.#ended.keys().next().value!);
		}

		this.#ended.set(id, {text, at});
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
