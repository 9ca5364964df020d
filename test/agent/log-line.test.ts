/** The agent's log lines: safe JSON (no raw control, escape, bidi or separator character), parsing back to what was logged; the line's own keys win. */
import test from 'ava';
import {formatLogLine} from '../../agent/log-line.js';
import {levelOf} from '../../agent/log-level.js';
import {safeJson} from '../../source/output/visible.js';
import {seededRandom} from '../helpers/seeded-random.js';

const now = new Date('2026-12-06T12:00:00.000Z');
const unsafe = /[\u0000-\u0009\u000B-\u001F\u007F-\u009F\u061C\u200B-\u200F\u2028\u2029\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/;

const rows: Array<{title: string; value: string}> = [
	{title: 'ESC and a screen clear', value: '\u001B[2J\u001B[31mred'},
	{title: 'OSC 52 (clipboard write)', value: '\u001B]52;c;cm0gLXJmIC8=\u0007'},
	{title: 'C1 CSI', value: '\u009B1m'},
	{title: 'a bidirectional override', value: 'gnp\u202E.exe'},
	{title: 'zero width and BOM', value: 'a\u200Bb\uFEFF'},
	{title: 'line and paragraph separators', value: 'one\u2028two\u2029three'},
	{title: 'newline, CR and NUL', value: 'a\nb\rc\u0000d'},
	{title: 'a fake log line', value: '"}\n{"ts":"2026-01-01T00:00:00Z","level":"info","event":"run.finish","status":"ok"}'},
];

for (const row of rows) {
	test(`formatLogLine: ${row.title} stays in the value, escaped`, t => {
		const line = formatLogLine('run.refused', {script: 'hello', args: [row.value], reason: row.value}, now);
		t.true(line.endsWith('\n'));
		t.is(line.indexOf('\n'), line.length - 1, 'one line');
		t.notRegex(line.slice(0, -1), unsafe);
		t.deepEqual(JSON.parse(line), {script: 'hello', args: [row.value], reason: row.value, ts: '2026-12-06T12:00:00.000Z', level: 'warn', event: 'run.refused'});
	});
}

test('formatLogLine: a field cannot stand in for the line\'s own keys', t => {
	const line = JSON.parse(formatLogLine('audit.failed', {event: 'run.finish', level: 'info', ts: 'never', record: 'agent.tags'}, now)) as Record<string, unknown>;
	t.like(line, {event: 'audit.failed', level: 'warn', ts: '2026-12-06T12:00:00.000Z', record: 'agent.tags'});
});

/** The line as it was written before formatLogLine wrote the fields' own JSON: a copy with the line's keys spread after them. */
const spreadLine = (event: string, fields: Record<string, unknown>, at: Date) => `${safeJson({...fields, ts: at.toISOString(), level: levelOf(event, fields), event})}\n`;

test('formatLogLine: the same bytes as the spread copy, for fields with and without the line\'s own keys, toJSON, undefined, symbols, getters, integer-like keys', t => {
	const cases: Array<[string, Record<string, unknown>]> = [
		['run.start', {}],
		['run.start', {gone: undefined}],
		['decision', {requestId: 'r', allowed: false, reason: 'no\u202E', args: ['a', 'é😀']}],
		['decision', {allowed: true}],
		['run.finish', {status: 'ok', exitCode: 0, signal: null, bytes: {stdout: 1, stderr: 0}, cancelledBy: undefined}],
		['x', {ts: 'mine', a: 1}],
		['x', {a: 1, level: 'error'}],
		['x', {event: 'other'}],
		['x', {toJSON: () => ({replaced: true}), a: 1}],
		['x', {nested: {toJSON: () => 'inner'}, at: new Date(0)}],
		['x', {[Symbol('s')]: 1, b: Symbol('v'), c: () => 1}],
		['x', {2: 'two', 10: 'ten', a: 'a', 1: 'one'}],
		['x', Object.defineProperty({a: 1}, 'ts', {value: 'hidden', enumerable: false})],
		['x', Object.create({ts: 'inherited', level: 'inherited'}) as Record<string, unknown>],
		['x', Object.defineProperty({a: 1}, 'got', {get: () => 'from a getter', enumerable: true})],
	];
	for (const [event, fields] of cases) {
		t.is(formatLogLine(event, fields, now), spreadLine(event, fields, now), JSON.stringify(Object.keys(fields)));
	}

	const next = seededRandom(16);
	const text = () => String.fromCharCode(...Array.from({length: Math.floor(next() * 6)}, () => Math.floor(next() * (next() < 0.6 ? 0x80 : 0x1_00_00))));
	const value = (depth: number): unknown => {
		const pick = Math.floor(next() * (depth > 1 ? 5 : 7));
		return pick === 0 ? text() : pick === 1 ? [0, -0, 1.5, 1e21, Number.NaN][Math.floor(next() * 5)] : pick === 2 ? next() < 0.5 : pick === 3 ? null : pick === 4 ? undefined
			: pick === 5 ? Object.fromEntries(Array.from({length: Math.floor(next() * 3)}, () => [text(), value(depth + 1)])) : Array.from({length: Math.floor(next() * 3)}, () => value(depth + 1));
	};

	const keys = ['requestId', 'reason', 'ts', 'level', 'event', 'allowed', '7', 'é', 'args'];
	for (let index = 0; index < 2000; index++) {
		const fields: Record<string, unknown> = {};
		for (let count = Math.floor(next() * 6); count > 0; count--) {
			fields[next() < 0.6 ? keys[Math.floor(next() * keys.length)]! : text()] = value(0);
		}

		const event = next() < 0.5 ? 'decision' : text();
		t.is(formatLogLine(event, fields, now), spreadLine(event, fields, now), `set ${index}`);
	}
});
