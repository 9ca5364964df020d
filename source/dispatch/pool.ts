/** Maps `items` through `work` with at most `limit` in flight; results keep the items' order. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
	const results: R[] = Array.from({length: items.length});
	let next = 0;
	const worker = async () => {
		while (next < items.length) {
			const index = next++;
			results[index] = await work(items[index]!, index);
		}
	};

	// One worker at least: a limit below 1, or NaN, must not leave the items unworked.
	const workers = limit >= 1 ? Math.min(limit, items.length) : 1;
	await Promise.all(Array.from({length: workers}, worker));
	return results;
}
