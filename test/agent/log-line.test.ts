/** The agent's log lines: safe JSON (no raw control, escape, bidi or separator character), parsing back to what was logged; the line's own keys win. */
import test from 'ava';
import {formatLogLine} from '../../agent/log-line.js';

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
