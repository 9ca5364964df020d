/**
 * canonicalJson writes exactly what the `canonicalize` package writes (the signed bytes of every
 * relay envelope), and refuses exactly what it refuses, with the same message: a table of the
 * edges (lone surrogates, unpaired at either end, numbers at RFC 8785's edges, keys that sort by
 * UTF-16 code units, undefined and symbol members, toJSON), then 3,000 generated values from a
 * fixed seed, with random UTF-16 code units (surrogates included) in keys and strings.
 */
import test from 'ava';
import canonicalize from 'canonicalize';
import {canonicalJson} from '../../source/protocol/canonical-json.js';
import {seededRandom} from '../helpers/seeded-random.js';

type Outcome = {text: string | undefined} | {error: string};
const outcome = (write: (value: unknown) => string | undefined, value: unknown): Outcome => {
	try {
		return {text: write(value)};
	} catch (error) {
		return {error: (error as Error).message};
	}
};

const edges: Array<[string, unknown]> = [
	['a lone high surrogate', 'a\uD800b'],
	['a lone low surrogate', '\uDC00'],
	['a high surrogate last', 'ab\uD83D'],
	['a pair', 'smile \uD83D\uDE00'],
	['a backslash, u, d, 8 written out (not a surrogate)', String.raw`\ud800 and \\ud800`],
	['an integer key among others, nested', {b: {'0': 1, x: 2}, a: [{'3': 'z'}]}],
	['a __proto__ member (own, as JSON.parse makes one)', JSON.parse('{"__proto__": {"x": 1}, "a": 2}') as unknown],
	['a lone surrogate in a key', {'k\uDFFF': 1}],
	['control characters and escapes', '\u0000\u001F"\\/\u007F\u2028'],
	['-0', -0],
	['1e21 and 1e-7', [1e21, 1e-7, 123_456_789_012_345_680_000, 0.000_001, 5e-324, Number.MAX_VALUE]],
	['NaN', Number.NaN],
	['Infinity in an object', {x: Number.POSITIVE_INFINITY}],
	['keys sorted by UTF-16 code units, not code points', {'\uFB33': 1, '\uD83D\uDE00': 2, a: 3, A: 4, '': 5, é: 6, 10: 7, 9: 8}],
	['undefined and symbol members left out', {a: undefined, b: Symbol('s'), c: 1}],
	['undefined and symbol elements as null', [undefined, Symbol('s'), 1]],
	['a Date (toJSON)', {at: new Date(0)}],
	['nested empties', {a: {}, b: [], c: [{}], d: [[]]}],
	['booleans and null', [true, false, null]],
	['a relay reply envelope', {v: 1, kind: 'reply', id: 'req-00000001', seq: 1, agent: 'web1', serial: 'ab12', req: 'a'.repeat(64), prev: 'b'.repeat(64), iat: 1_765_000_000_000, body: {type: 'result', id: 'req-00000001', status: 'ok', exitCode: null, signal: null, durationMs: 0, truncated: false, bytes: {stdout: 0, stderr: 0}, reason: 'dry run: would run'}}],
	['undefined at the top', undefined],
	['a bare string', 'x'],
];

for (const [title, value] of edges) {
	test(`the same as canonicalize: ${title}`, t => {
		t.deepEqual(outcome(canonicalJson, value), outcome(canonicalize, value));
	});
}

function generated(next: () => number, depth: number): unknown {
	const pick = Math.floor(next() * (depth > 3 ? 4 : 7));
	const text = () => String.fromCharCode(...Array.from({length: Math.floor(next() * 6)}, () => (next() < 0.1 ? 0xD8_00 + Math.floor(next() * 0x8_00) : Math.floor(next() * (next() < 0.5 ? 0x80 : 0x1_00_00)))));
	switch (pick) {
		case 0: {
			return text();
		}

		case 1: {
			return [0, -0, 1.5, -1e-7, 1e21, 2 ** 53, Number.NaN, 12_345.678_9, next() * 1e6][Math.floor(next() * 9)];
		}

		case 2: {
			return next() < 0.5;
		}

		case 3: {
			return null;
		}

		case 4:
		case 5: {
			return Object.fromEntries(Array.from({length: Math.floor(next() * 5)}, () => [text(), generated(next, depth + 1)]));
		}

		default: {
			return Array.from({length: Math.floor(next() * 5)}, () => generated(next, depth + 1));
		}
	}
}

test('the same as canonicalize on 3,000 generated values (seed 23)', t => {
	const next = seededRandom(23);
	let errors = 0;
	for (let index = 0; index < 3000; index++) {
		const value = generated(next, 0);
		const ours = outcome(canonicalJson, value);
		if ('error' in ours) {
			errors++;
		}

		t.deepEqual(ours, outcome(canonicalize, value), `value ${index}: ${JSON.stringify(value)}`);
	}

	t.true(errors > 100 && errors < 2900, `both kinds were generated: ${errors} refused`);
});
