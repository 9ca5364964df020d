import test from 'ava';
import type {AgentResult, RunEvent} from '../../source/run/events.js';
import {countByStatus, foldRun, historyLine, runDocument, type HistoryLine, type RunHeader} from '../../source/history/run-record.js';
import {createJsonRunWriter} from '../../source/output/json-run.js';

const header: RunHeader = {
	type: 'run',
	requestId: '3f0c1b1e-0d7a-4b8e-9a43-5b2f7c9d1e00',
	script: 'disk-usage',
	args: ['/var', '--human'],
	selector: ['role=web'],
	caller: 'alice@ops',
	startedAt: '2026-01-14T10:00:00.000Z',
	targets: ['web1', 'web2', 'web3'],
};

const nasty = '"quotes" \\ \u001B[2J\r\n\u2028 ]}{,';

const results: Record<string, AgentResult> = {
	web1: {agent: 'web1', status: 'ok', exitCode: 0, signal: null, stdout: `12G /var\n${nasty}`, stderr: '', truncated: false, durationMs: 120},
	web2: {agent: 'web2', status: 'failed', exitCode: 1, signal: null, stdout: '', stderr: 'du: cannot read /var/lib/x\n', truncated: false, durationMs: 80, reason: 'exit code 1'},
	web3: {agent: 'web3', status: 'timeout', exitCode: null, signal: 'SIGKILL', stdout: 'partial', stderr: '', truncated: true, durationMs: 30_000, reason: 'the per-host --timeout of 30 s fired'},
};

/** The run's events as the dispatcher emits them: output in chunks, interleaved between hosts. */
const events: RunEvent[] = [
	{type: 'run-started', requestId: header.requestId, script: header.script, args: header.args, targets: header.targets, startedAt: header.startedAt},
	{type: 'agent-connecting', agent: 'web1'},
	{type: 'agent-started', agent: 'web1'},
	{type: 'agent-output', agent: 'web1', stream: 'stdout', data: '12G /var\n'},
	{type: 'agent-output', agent: 'web2', stream: 'stderr', data: 'du: cannot read '},
	{type: 'agent-output', agent: 'web1', stream: 'stdout', data: nasty},
	{type: 'agent-output', agent: 'web2', stream: 'stderr', data: '/var/lib/x\n'},
	{type: 'agent-output', agent: 'web3', stream: 'stdout', data: 'partial'},
	{type: 'agent-finished', result: results['web1']!},
	{type: 'agent-finished', result: results['web2']!},
	{type: 'agent-finished', result: results['web3']!},
	{type: 'run-finished', requestId: header.requestId, endedAt: '2026-01-14T10:00:31.000Z', durationMs: 31_000},
];

/** The history file's lines, as the run store writes them (JSON.stringify, one per line). */
function historyFile(until = events.length, end = true): string[] {
	const lines: HistoryLine[] = [header];
	for (const event of events.slice(0, until)) {
		const line = historyLine(event);
		if (line) {
			lines.push(line);
		}
	}

	if (end) {
		lines.push({type: 'end', endedAt: '2026-01-14T10:00:31.000Z'});
	}

	return lines.map(line => JSON.stringify(line));
}

test('historyLine keeps output and results (without their output) and nothing else', t => {
	t.deepEqual(events.map(event => historyLine(event)), [
		undefined,
		undefined,
		undefined,
		{type: 'output', agent: 'web1', stream: 'stdout', data: '12G /var\n'},
		{type: 'output', agent: 'web2', stream: 'stderr', data: 'du: cannot read '},
		{type: 'output', agent: 'web1', stream: 'stdout', data: nasty},
		{type: 'output', agent: 'web2', stream: 'stderr', data: '/var/lib/x\n'},
		{type: 'output', agent: 'web3', stream: 'stdout', data: 'partial'},
		{type: 'result', result: {agent: 'web1', status: 'ok', exitCode: 0, signal: null, truncated: false, durationMs: 120}},
		{type: 'result', result: {agent: 'web2', status: 'failed', exitCode: 1, signal: null, truncated: false, durationMs: 80, reason: 'exit code 1'}},
		{type: 'result', result: {agent: 'web3', status: 'timeout', exitCode: null, signal: 'SIGKILL', truncated: true, durationMs: 30_000, reason: 'the per-host --timeout of 30 s fired'}},
		undefined,
	]);
});

test('foldRun of a complete record: every result with its output, in target order', t => {
	t.deepEqual(foldRun(historyFile()), {
		header,
		endedAt: '2026-01-14T10:00:31.000Z',
		results: [results['web1'], results['web2'], results['web3']],
		complete: true,
	});
});

const noResult = 'no result was recorded: the controller stopped before this host answered';

test('foldRun of a record without its end line (the controller was killed after the last result)', t => {
	t.deepEqual(foldRun(historyFile(events.length, false)), {
		header,
		results: [results['web1'], results['web2'], results['web3']],
		complete: false,
	});
});

test('foldRun of a record cut before the last host answered: that host is an error with the reason, its output kept', t => {
	const lines = historyFile(10, false);
	t.deepEqual(foldRun(lines), {
		header,
		results: [
			results['web1'],
			results['web2'],
			{agent: 'web3', status: 'error', exitCode: null, signal: null, truncated: false, durationMs: 0, reason: noResult, stdout: 'partial', stderr: ''},
		],
		complete: false,
	});
});

test('foldRun of a record whose last line is torn: the torn line is skipped', t => {
	const lines = historyFile(events.length, false);
	const torn = [...lines.slice(0, -1), lines.at(-1)!.slice(0, 40)];
	t.deepEqual(foldRun(torn), {
		header,
		results: [
			results['web1'],
			results['web2'],
			{agent: 'web3', status: 'error', exitCode: null, signal: null, truncated: false, durationMs: 0, reason: noResult, stdout: 'partial', stderr: ''},
		],
		complete: false,
	});
});

test('foldRun of a record with only its header: every host is an error', t => {
	const run = foldRun(historyFile(0, false));
	t.deepEqual(run?.results.map(result => [result.agent, result.status, result.reason]), [['web1', 'error', noResult], ['web2', 'error', noResult], ['web3', 'error', noResult]]);
	t.false(run?.complete);
});

test('foldRun of a record whose header is torn is nothing', t => {
	t.is(foldRun([JSON.stringify(header).slice(0, 30)]), undefined);
	t.is(foldRun([]), undefined);
});

test('foldRun ignores results and output for hosts that were not targets', t => {
	const lines = [...historyFile(), JSON.stringify({type: 'result', result: {...results['web1'], agent: 'intruder'}}), JSON.stringify({type: 'output', agent: 'intruder', stream: 'stdout', data: 'x'})];
	t.deepEqual(foldRun(lines)?.results.map(result => result.agent), ['web1', 'web2', 'web3']);
});

function jsonRun(runEvents: RunEvent[]): string {
	const writes: string[] = [];
	const writer = createJsonRunWriter(text => writes.push(text));
	for (const event of runEvents) {
		writer.onEvent(event);
	}

	return writes.join('');
}

test('runDocument is the document run --json printed, byte for byte when hosts finished in target order', t => {
	const printed = jsonRun(events);
	const stored = runDocument(foldRun(historyFile())!);
	t.deepEqual(stored, JSON.parse(printed) as unknown);
	t.is(JSON.stringify(stored), JSON.stringify(JSON.parse(printed)));
});

test('runDocument lists hosts in target order; run --json in the order they finished', t => {
	const reordered = [...events.slice(0, 8), events[10]!, events[8]!, events[9]!, events[11]!];
	const lines = [JSON.stringify(header), ...reordered.map(event => historyLine(event)).filter(line => line !== undefined).map(line => JSON.stringify(line)), JSON.stringify({type: 'end', endedAt: '2026-01-14T10:00:31.000Z'})];
	const printed = JSON.parse(jsonRun(reordered)) as {results: Array<{agent: string}>};
	const stored = runDocument(foldRun(lines)!);
	t.deepEqual(printed.results.map(result => result.agent), ['web3', 'web1', 'web2']);
	t.deepEqual(stored.results.map(result => result.agent), ['web1', 'web2', 'web3']);
	t.deepEqual({...stored, results: [...stored.results].sort((a, b) => a.agent.localeCompare(b.agent))}, {...printed, results: [...printed.results].sort((a, b) => a.agent.localeCompare(b.agent))});
});

test('a partial record\'s document says what is missing', t => {
	const document = runDocument(foldRun(historyFile(9, false))!);
	t.deepEqual(document.results.map(result => [result.agent, result.status, result.reason]), [['web1', 'ok', null], ['web2', 'error', noResult], ['web3', 'error', noResult]]);
	t.deepEqual([document.startedAt, document.endedAt, document.durationMs], [header.startedAt, null, null], 'it started, and has no end or run time');
});

test('the run\'s own time: startedAt first, then endedAt and durationMs after the results, beside each host\'s', t => {
	const printed = jsonRun(events);
	t.regex(printed, /^\{"requestId":"[^"]+","script":"disk-usage","args":\["\/var","--human"\],"startedAt":"2026-01-14T10:00:00.000Z","results":\[\n/);
	t.true(printed.endsWith('\n],"endedAt":"2026-01-14T10:00:31.000Z","durationMs":31000}\n'), printed.slice(-80));
	t.deepEqual((JSON.parse(printed) as {results: Array<{durationMs: number}>}).results.map(result => result.durationMs), [120, 80, 30_000]);
});

test('countByStatus', t => {
	t.deepEqual(countByStatus([{status: 'ok'}, {status: 'failed'}, {status: 'ok'}, {status: 'skipped'}]), {ok: 2, failed: 1, skipped: 1});
	t.deepEqual(countByStatus([]), {});
});
