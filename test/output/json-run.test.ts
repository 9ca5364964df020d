import test from 'ava';
import type {RunEvent} from '../../source/run/events.js';
import {createJsonRunWriter} from '../../source/output/json-run.js';
import {agentResult} from './agent-result.js';

function writeRun(events: RunEvent[]): string[] {
	const writes: string[] = [];
	const writer = createJsonRunWriter(text => writes.push(text));
	for (const event of events) {
		writer.onEvent(event);
	}

	return writes;
}

const nasty = '"quotes" \\ back\u0000NUL\u001B[2J\r\n\u2028\u2029\u202E \ud800 lone surrogate ]}{,';

test('writes exactly one parseable JSON document with every result', t => {
	const writes = writeRun([
		{type: 'run-started', requestId: 'req-0001abcd', script: 'echo-args', args: ['a b', '$(x)', nasty], targets: ['web1', 'db1', 'cache1']},
		{type: 'agent-connecting', agent: 'web1'},
		{type: 'agent-started', agent: 'web1'},
		{type: 'agent-output', agent: 'web1', stream: 'stdout', data: 'ignored: the result carries the output'},
		{type: 'agent-finished', result: agentResult('web1', {stdout: nasty, stderr: 'warn\n', durationMs: 12})},
		{type: 'agent-finished', result: agentResult('db1', {status: 'denied', exitCode: null, reason: nasty})},
		{type: 'agent-finished', result: agentResult('cache1', {status: 'timeout', exitCode: null, signal: 'SIGKILL', truncated: true, durationMs: 30_000})},
		{type: 'run-finished', requestId: 'req-0001abcd'},
	]);
	const text = writes.join('');
	t.true(text.endsWith('}\n'));
	t.deepEqual(JSON.parse(text), {
		requestId: 'req-0001abcd',
		script: 'echo-args',
		args: ['a b', '$(x)', nasty],
		results: [
			{agent: 'web1', status: 'ok', exitCode: 0, signal: null, stdout: nasty, stderr: 'warn\n', truncated: false, durationMs: 12, reason: null},
			{agent: 'db1', status: 'denied', exitCode: null, signal: null, stdout: '', stderr: '', truncated: false, durationMs: 0, reason: nasty},
			{agent: 'cache1', status: 'timeout', exitCode: null, signal: 'SIGKILL', stdout: '', stderr: '', truncated: true, durationMs: 30_000, reason: null},
		],
	});
});

test('writes one result at a time, as each agent finishes', t => {
	const writes = writeRun([
		{type: 'run-started', requestId: 'req-0001abcd', script: 'uptime', args: [], targets: ['web1', 'db1']},
		{type: 'agent-finished', result: agentResult('web1')},
		{type: 'agent-finished', result: agentResult('db1')},
		{type: 'run-finished', requestId: 'req-0001abcd'},
	]);
	t.is(writes.length, 4);
	t.true(writes[1]!.includes('"web1"'));
	t.false(writes[1]!.includes('"db1"'));
	t.true(writes[2]!.startsWith(',\n'));
});

test('a run with no results is still one valid document', t => {
	const text = writeRun([
		{type: 'run-started', requestId: 'req-0001abcd', script: 'uptime', args: [], targets: []},
		{type: 'run-finished', requestId: 'req-0001abcd'},
	]).join('');
	t.deepEqual(JSON.parse(text), {requestId: 'req-0001abcd', script: 'uptime', args: [], results: []});
});

test('each result sits on its own line, so a stream can be read line by line', t => {
	const text = writeRun([
		{type: 'run-started', requestId: 'req-0001abcd', script: 'uptime', args: [], targets: ['web1']},
		{type: 'agent-finished', result: agentResult('web1', {stdout: 'a\nb\n'})},
		{type: 'run-finished', requestId: 'req-0001abcd'},
	]).join('');
	t.deepEqual(text.split('\n'), [
		'{"requestId":"req-0001abcd","script":"uptime","args":[],"results":[',
		'{"agent":"web1","status":"ok","exitCode":0,"signal":null,"stdout":"a\\nb\\n","stderr":"","truncated":false,"durationMs":0,"reason":null}',
		']}',
		'',
	]);
});
