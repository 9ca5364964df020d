import test from 'ava';
import {safeJsonParse} from '../../source/protocol/safe-json.js';

const refusals: Array<{title: string; text: string; maxDepth: number; reason: string}> = [
	{title: '__proto__ inside an array', text: '[1,{"__proto__":null}]', maxDepth: 8, reason: 'forbidden key "__proto__"'},
	{title: 'constructor at the top', text: '{"constructor":{}}', maxDepth: 8, reason: 'forbidden key "constructor"'},
	{title: 'prototype deep down', text: '{"a":{"b":{"c":{"prototype":1}}}}', maxDepth: 8, reason: 'forbidden key "prototype"'},
	{title: 'arrays one level too deep', text: '[[[]]]', maxDepth: 2, reason: 'nested deeper than 2 levels'},
	{title: 'objects one level too deep', text: '{"a":{"b":{}}}', maxDepth: 2, reason: 'nested deeper than 2 levels'},
	{title: 'a depth far past any stack', text: '['.repeat(100_000) + ']'.repeat(100_000), maxDepth: 32, reason: 'nested deeper than 32 levels'},
];

for (const c of refusals) {
	test(`refuses ${c.title}`, t => {
		t.deepEqual(safeJsonParse(c.text, c.maxDepth), {ok: false, reason: c.reason});
	});
}

test('accepts nesting at the limit, and scalars under it', t => {
	t.deepEqual(safeJsonParse('[[1]]', 2), {ok: true, value: [[1]]});
	t.deepEqual(safeJsonParse('{"a":{"b":"c"}}', 2), {ok: true, value: {a: {b: 'c'}}});
	t.deepEqual(safeJsonParse('"text"', 0), {ok: true, value: 'text'});
});

test('accepts keys that only contain a forbidden word', t => {
	t.deepEqual(safeJsonParse('{"my_constructor":1,"proto":2}', 4), {ok: true, value: {my_constructor: 1, proto: 2}});
});

test('reports text that is not JSON without throwing', t => {
	const parsed = safeJsonParse('{"a":', 4);
	t.false(parsed.ok);
	t.true(!parsed.ok && parsed.reason.startsWith('not JSON ('));
});

/** The explicit-stack walk the recursive one replaced (one object pushed per key): the reference for the order of refusals. */
function stackWalk(root: unknown, maxDepth: number): string | undefined {
	const forbidden = new Set(['__proto__', 'constructor', 'prototype']);
	const stack: Array<{value: unknown; depth: number}> = [{value: root, depth: 0}];
	while (stack.length > 0) {
		const {value, depth} = stack.pop()!;
		if (value === null || typeof value !== 'object') {
			continue;
		}

		if (depth >= maxDepth) {
			return `nested deeper than ${maxDepth} levels`;
		}

		for (const key of Object.keys(value)) {
			if (forbidden.has(key)) {
				return `forbidden key "${key}"`;
			}

			stack.push({value: (value as Record<string, unknown>)[key], depth: depth + 1});
		}
	}

	return undefined;
}

/** JSON text of a random value up to `depth` deep, now and then with a forbidden key (a seeded generator: the same texts every run). */
function randomJson(next: () => number, depth: number): string {
	const pick = next();
	if (depth <= 0 || pick < 0.3) {
		return [() => '1', () => '"s"', () => 'null', () => 'true'][Math.floor(next() * 4)]!();
	}

	const count = Math.floor(next() * 4);
	if (pick < 0.6) {
		return `[${Array.from({length: count}, () => randomJson(next, depth - 1)).join(',')}]`;
	}

	const keys = ['a', 'b', 'c', 'd', '__proto__', 'constructor', 'prototype', 'my_constructor'];
	const used = new Set<string>();
	const members = Array.from({length: count}, () => keys[Math.floor(next() * (next() < 0.9 ? 4 : keys.length))]!)
		.filter(key => !used.has(key) && used.add(key))
		.map(key => `${JSON.stringify(key)}:${randomJson(next, depth - 1)}`);
	return `{${members.join(',')}}`;
}

test('names the same problem as the explicit-stack walk it replaced, on 5,000 generated values', t => {
	let seed = 19;
	const next = () => {
		seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
		return seed / 2_147_483_648;
	};

	let refused = 0;
	for (let n = 0; n < 5000; n++) {
		const text = randomJson(next, 7);
		const maxDepth = 1 + Math.floor(next() * 7);
		const reference = stackWalk(JSON.parse(text), maxDepth);
		refused += reference === undefined ? 0 : 1;
		t.deepEqual(safeJsonParse(text, maxDepth), reference === undefined ? {ok: true, value: JSON.parse(text)} : {ok: false, reason: reference}, text);
	}

	// Both kinds of answer were seen, many times.
	t.true(refused > 1000 && refused < 4000, `${refused} refused`);
});

test('walks own keys only: an enumerable property added to Object.prototype is neither checked nor entered', t => {
	Object.defineProperty(Object.prototype, 'constructorLike', {value: {prototype: 1}, enumerable: true, configurable: true});
	Object.defineProperty(Object.prototype, 'prototype', {value: 1, enumerable: true, configurable: true});
	try {
		t.deepEqual(safeJsonParse('{"a":{"b":1}}', 4), {ok: true, value: {a: {b: 1}}});
		t.deepEqual(safeJsonParse('{"a":{"constructor":1}}', 4), {ok: false, reason: 'forbidden key "constructor"'});
	} finally {
		Reflect.deleteProperty(Object.prototype, 'constructorLike');
		Reflect.deleteProperty(Object.prototype, 'prototype');
	}
});
