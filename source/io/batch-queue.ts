/**
 * A queue that writes in batches: what is pushed while a batch is being written goes together in
 * the next one (one write and one fsync for many appends, as the audit log does). `write` answers
 * each item of a batch in order, a result or the Error that item alone failed with; when it
 * throws, every item of the batch fails with what it threw. `before` runs ahead of each run of
 * batches (waiting for a lock being taken, say).
 */
export type BatchQueue<Item, Result> = {
	push: (item: Item) => Promise<Result>;
	/** The items waiting for the next batch. */
	queued: () => readonly Item[];
	/** Settles when the batches under way are written. */
	idle: () => Promise<void>;
};

type Entry<Item, Result> = {item: Item; resolve: (result: Result) => void; reject: (error: unknown) => void};

export function createBatchQueue<Item, Result>(write: (batch: Item[]) => Promise<Array<Result | Error>>, before?: () => Promise<unknown>): BatchQueue<Item, Result> {
	let pending: Array<Entry<Item, Result>> = [];
	let running = false;
	let flushing: Promise<void> | undefined;

	async function flush(): Promise<void> {
		while (pending.length > 0) {
			const batch = pending;
			pending = [];
			try {
				const results = await write(batch.map(entry => entry.item));
				for (const [index, entry] of batch.entries()) {
					const result = results[index]!;
					if (result instanceof Error) {
						entry.reject(result);
					} else {
						entry.resolve(result);
					}
				}
			} catch (error) {
				for (const entry of batch) {
					entry.reject(error);
				}
			}
		}
	}

	function start(): void {
		running = true;
		flushing = drain();
	}

	async function drain(): Promise<void> {
		try {
			await before?.();
			await flush();
		} finally {
			running = false;
		}

		// Items pushed after the last batch was taken and before `running` was cleared.
		if (pending.length > 0) {
			start();
		}
	}

	return {
		push: async item => new Promise<Result>((resolve, reject) => {
			pending.push({item, resolve, reject});
			if (!running) {
				start();
			}
		}),
		queued: () => pending.map(entry => entry.item),
		idle: async () => flushing,
	};
}
