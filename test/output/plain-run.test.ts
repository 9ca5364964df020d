import test from 'ava';
import type {RunEvent} from '../../source/run/events.js';
import {createPlainRunPrinter, describeResult, formatDuration, slowestLine} from '../../source/output/plain-run.js';
import {agentResult} from './agent-result.js';

function print(events: RunEvent[], nameWidth = 5): string {
	let text = '';
	const printer = createPlainRunPrinter(chunk => {
		text += chunk;
	}, {nameWidth});
	for (const event of events) {
		printer.onEvent(event);
	}

	return text;
}

const started: RunEvent = {type: 'run-started', requestId: 'req-0001abcd', script: 'uptime', args: [], targets: ['web1', 'db1']};

test('prefixes each line with its agent, waiting for partial lines to end', t => {
	const text = print([
		started,
		{type: 'agent-connecting', agent: 'web1'},
		{type: 'agent-started', agent: 'web1'},
		{type: 'agent-output', agent: 'web1', stream: 'stdout', data: 'load 0.'},
		{type: 'agent-output', agent: 'db1', stream: 'stdout', data: 'up 3 days\nus'},
		{type: 'agent-output', agent: 'web1', stream: 'stdout', data: '12\n'},
		{type: 'agent-output', agent: 'db1', stream: 'stderr', data: 'warning\n'},
		{type: 'agent-output', agent: 'db1', stream: 'stdout', data: 'ers 2\n'},
	]);
	t.is(text, [
		'db1   | up 3 days',
		'web1  | load 0.12',
		'db1   ! warning',
		'db1   | users 2',
		'',
	].join('\n'));
});

test('prints a line left without its newline when the agent finishes, then its status', t => {
	const text = print([
		started,
		{type: 'agent-output', agent: 'web1', stream: 'stdout', data: 'no newline'},
		{type: 'agent-output', agent: 'web1', stream: 'stderr', data: 'err tail'},
		{type: 'agent-finished', result: agentResult('web1', {durationMs: 40})},
	]);
	t.is(text, 'web1  | no newline\nweb1  ! err tail\nweb1  = ok (40 ms)\n');
});

test('makes escape sequences and carriage returns from an agent visible', t => {
	const text = print([
		started,
		{type: 'agent-output', agent: 'web1', stream: 'stdout', data: '\u001B[2J\u001B[Hfake prompt\rok\n'},
		{type: 'agent-finished', result: agentResult('web1', {status: 'denied', exitCode: null, reason: 'hook said \u001B[32mno'})},
	]);
	t.is(text, 'web1  | \\x1b[2J\\x1b[Hfake prompt\\x0dok\nweb1  = denied: hook said \\x1b[32mno\n');
});

test('ends with the slowest hosts, the summary and the request id', t => {
	const text = print([
		started,
		{type: 'agent-finished', result: agentResult('web1', {status: 'failed', exitCode: 2, durationMs: 1500})},
		{type: 'agent-finished', result: agentResult('db1', {durationMs: 3})},
		{type: 'run-finished', requestId: 'req-0001abcd'},
	]);
	t.is(text, [
		'web1  = failed (exit 2) (1.5 s)',
		'db1   = ok (3 ms)',
		'slowest: web1 1.5 s, db1 3 ms',
		'1 ok · 1 failed   request req-0001abcd',
		'',
	].join('\n'));
});

const descriptions: Array<{title: string; result: Parameters<typeof describeResult>[0]; text: string}> = [
	{title: 'ok without a duration', result: agentResult('a'), text: 'ok'},
	{title: 'failed with an exit code', result: agentResult('a', {status: 'failed', exitCode: 3, reason: 'ignored'}), text: 'failed (exit 3)'},
	{title: 'denied with its reason', result: agentResult('a', {status: 'denied', exitCode: null, reason: 'script rm is not on a\'s allowlist'}), text: 'denied: script rm is not on a\'s allowlist'},
	{title: 'timeout, truncated, with a duration', result: agentResult('a', {status: 'timeout', exitCode: null, signal: 'SIGTERM', truncated: true, durationMs: 30_000, reason: 'ran past 30 s'}), text: 'timeout: ran past 30 s: output truncated at the agent\'s cap (30.0 s)'},
	{title: 'unreachable', result: agentResult('a', {status: 'unreachable', exitCode: null, reason: 'connect ECONNREFUSED'}), text: 'unreachable: connect ECONNREFUSED'},
];

for (const c of descriptions) {
	test(`describeResult: ${c.title}`, t => {
		t.is(describeResult(c.result), c.text);
	});
}

test('formatDuration switches to seconds at one second', t => {
	t.is(formatDuration(0), '0 ms');
	t.is(formatDuration(999), '999 ms');
	t.is(formatDuration(1000), '1.0 s');
	t.is(formatDuration(61_250), '61.3 s');
});

test('slowest: the three longest, by duration then name; nothing for fewer than two timed hosts', t => {
	const timed = (agent: string, durationMs: number) => ({agent, durationMs});
	t.is(slowestLine([timed('a', 5), timed('web12', 8100), timed('db1', 7500), timed('web03', 7900), timed('web02', 7900)]), 'slowest: web12 8.1 s, web02 7.9 s, web03 7.9 s');
	t.is(slowestLine([timed('a', 5), timed('b', 0)]), undefined);
	t.is(slowestLine([timed('a', 5)]), undefined);
});
