/**
 * chainRecordLine canonicalises a record once: the same record and the same line, byte for byte,
 * as chainRecord then recordLine (the two calls it replaces in batch-plan.ts), or the same error.
 * A table of edges (a field named `hash`, keys around `hash` in UTF-16 order, integer-like keys,
 * a lone surrogate, toJSON, the first record of a log), then 2,000 generated field sets from a
 * fixed seed with random keys and values.
 */
import test from 'ava';
import {chainRecord, chainRecordLine, recordLine, type AuditFields, type ChainHead} from '../../source/audit/record.js';
import {seededRandom} from '../helpers/seeded-random.js';

type Outcome = {record: unknown; line: string} | {error: string};
const context = {log: 'log-1', side: 'agent' as const, now: new Date(Date.UTC(2026, 11, 7, 17, 0, 0))};
const head: ChainHead = {log: 'log-1', seq: 41, hash: 'a'.repeat(64)};

const twice = (at: ChainHead | undefined, fields: AuditFields): Outcome => {
	try {
		const record = chainRecord(at, context, fields);
		return {record, line: recordLine(record)};
	} catch (error) {
		return {error: (error as Error).message};
	}
};

const once = (at: ChainHead | undefined, fields: AuditFields): Outcome => {
	try {
		return chainRecordLine(at, context, fields);
	} catch (error) {
		return {error: (error as Error).message};
	}
};

const edges: Array<[string, AuditFields, ChainHead | undefined]> = [
	['a run record', {event: 'run.finish', agent: 'web1', requestId: 'r-1', status: 'ok', exitCode: 0, signal: null, durationMs: 3, bytes: {stdout: 10, stderr: 0}, truncated: false, reason: undefined}, head],
	['the first record of a log', {event: 'agent.started', agent: 'web1'}, undefined],
	['a field named hash (hashed, then replaced)', {event: 'x', hash: 'mine'}, head],
	['keys just around hash', {event: 'x', has: 1, hasH: 2, hash0: 3, hasi: 4, H: 5, 'hash\u0000': 6}, head],
	['integer-like keys', {event: 'x', 0: 'a', 10: 'b', 9: 'c'}, head],
	['keys by UTF-16 code units', {event: 'x', '\uFB33': 1, '\uD83D\uDE00': 2, é: 3}, head],
	['a lone surrogate (refused)', {event: 'x', bad: 'a\uD800'}, head],
	['a lone surrogate after hash (refused)', {event: 'x', zz: '\uDC00'}, head],
	['a Date (toJSON)', {event: 'x', at: new Date(0), when: new Date(1)}, head],
	['a symbol value (left out) and a function value (written as the package writes it)', {event: 'x', gone: Symbol('s'), fn: () => 1, z: 1}, head],
	['a bigint (refused)', {event: 'x', big: 1n}, head],
	['integer-like and __proto__ keys from JSON', JSON.parse('{"event":"x","__proto__":{"a":1},"2":"b","10":"c","hash0":1}') as AuditFields, head],
	['fields trying to override the chain', {event: 'x', seq: 99, prev: 'p', v: 7, log: 'other', ts: 'then', side: 'controller'}, head],
];

for (const [title, fields, at] of edges) {
	test(`the same record and line as chainRecord + recordLine: ${title}`, t => {
		t.deepEqual(once(at, fields), twice(at, fields));
	});
}

test('the same record and line on 2,000 generated field sets (seed 19)', t => {
	const next = seededRandom(19);
	const keys = ['a', 'agent', 'event2', 'h', 'has', 'hash', 'hasha', 'i', 'log2', 'requestId', 'z', 'é', '1', '__proto__'];
	const text = () => String.fromCharCode(...Array.from({length: Math.floor(next() * 5)}, () => (next() < 0.05 ? 0xD8_00 + Math.floor(next() * 0x8_00) : Math.floor(next() * (next() < 0.7 ? 0x80 : 0x1_00_00)))));
	const value = (depth: number): unknown => {
		const pick = Math.floor(next() * (depth > 2 ? 5 : 7));
		return pick === 0 ? text() : pick === 1 ? [0, -0, 1.5, 1e21, Number.NaN][Math.floor(next() * 5)] : pick === 2 ? next() < 0.5 : pick === 3 ? null : pick === 4 ? undefined
			: pick === 5 ? Object.fromEntries(Array.from({length: Math.floor(next() * 4)}, () => [next() < 0.5 ? keys[Math.floor(next() * keys.length)]! : text(), value(depth + 1)]))
				: Array.from({length: Math.floor(next() * 4)}, () => value(depth + 1));
	};

	let refused = 0;
	for (let index = 0; index < 2000; index++) {
		const fields: AuditFields = {event: text()};
		for (let count = Math.floor(next() * 6); count > 0; count--) {
			fields[next() < 0.7 ? keys[Math.floor(next() * keys.length)]! : text()] = value(0);
		}

		const at = index % 10 === 0 ? undefined : head;
		const expected = twice(at, fields);
		refused += 'error' in expected ? 1 : 0;
		t.deepEqual(once(at, fields), expected, `set ${index}`);
	}

	t.true(refused > 20 && refused < 1980, `both kinds were generated: ${refused} refused`);
});
