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
