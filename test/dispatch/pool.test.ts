import test from 'ava';
import {mapLimited} from '../../source/dispatch/pool.js';

/** Runs `items` through mapLimited and records the most work in flight at once. */
async function measure(items: number[], limit: number) {
	let inFlight = 0;
	let most = 0;
	const started: number[] = [];
	const results = await mapLimited(items, limit, async (item, index) => {
		started.push(index);
		inFlight++;
		most = Math.max(most, inFlight);
		// Later items finish first, so order comes from the index, not from completion.
		await new Promise(resolve => setTimeout(resolve, (items.length - index) * 2));
		inFlight--;
		return item * 10;
	});
	return {results, most, started};
}

test('keeps the items\' order whatever order the work finishes in', async t => {
	const {results, started} = await measure([1, 2, 3, 4, 5, 6, 7], 3);
	t.deepEqual(results, [10, 20, 30, 40, 50, 60, 70]);
	t.deepEqual(started, [0, 1, 2, 3, 4, 5, 6]);
});

const limits: Array<{limit: number; items: number; most: number}> = [
	{limit: 3, items: 7, most: 3},
	{limit: 1, items: 4, most: 1},
	{limit: 64, items: 5, most: 5},
	{limit: 0, items: 3, most: 1},
	{limit: -2, items: 3, most: 1},
	{limit: Number.NaN, items: 3, most: 1},
];

for (const c of limits) {
	test(`a limit of ${c.limit} runs ${c.items} items with at most ${c.most} in flight`, async t => {
		const items = Array.from({length: c.items}, (_, index) => index);
		const {results, most} = await measure(items, c.limit);
		t.is(most, c.most);
		t.deepEqual(results, items.map(item => item * 10));
	});
}

test('no items give no results and no work', async t => {
	let calls = 0;
	t.deepEqual(await mapLimited([], 4, async () => ++calls), []);
	t.is(calls, 0);
});

test('a failing item rejects the whole map', async t => {
	await t.throwsAsync(mapLimited([1, 2, 3], 2, async item => {
		if (item === 2) {
			throw new Error('item 2 failed');
		}

		return item;
	}), {message: 'item 2 failed'});
});
