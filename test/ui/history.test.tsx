import test from 'ava';
import type {StoredRun} from '../../source/history/run-record.js';
import {initialHistoryState, reduceHistory, storedRunState} from '../../source/ui/screens/history/use-history-state.js';
import {findInRun, searchRuns} from '../../source/ui/screens/history/run-search.js';
import {FakeCore} from './helpers/fake-core.js';
import {keys, press, renderApp, selected, waitForFrame} from './helpers/frames.js';

function storedRun(requestId: string, script: string, startedAt: string, statuses: Array<[string, 'ok' | 'failed' | 'unreachable']>): StoredRun {
	return {
		header: {type: 'run', requestId, script, args: [], selector: ['role=web'], caller: 'ops@bastion', startedAt, targets: statuses.map(([agent]) => agent)},
		endedAt: startedAt.replace(/:00\.000Z$/, ':03.000Z'),
		complete: true,
		results: statuses.map(([agent, status]) => ({
			agent, status, exitCode: status === 'ok' ? 0 : (status === 'failed' ? 3 : null), signal: null, truncated: false, durationMs: 1500,
			stdout: status === 'unreachable' ? '' : `${agent}: checking\n${status === 'ok' ? 'service healthy' : 'giving up'}\n`,
			stderr: status === 'failed' ? 'upstream: connection refused\n' : '',
			...(status === 'unreachable' ? {reason: 'connect ECONNREFUSED 127.0.0.1:7446'} : {}),
		})),
	};
}

const runs = [
	storedRun('11111111-1111-4111-8111-111111111111', 'check-service', '2026-02-24T10:00:00.000Z', [['web1', 'ok'], ['web2', 'failed'], ['web3', 'unreachable']]),
	storedRun('22222222-2222-4222-8222-222222222222', 'disk-usage', '2026-02-24T09:00:00.000Z', [['db1', 'ok']]),
];

test('history reducer: loaded, moves clamped, a failed read keeps what was shown', t => {
	let state = reduceHistory(initialHistoryState(), {type: 'loaded', runs});
	t.like(state, {cursor: 0, error: undefined});
	state = reduceHistory(state, {type: 'move', delta: 5});
	t.is(state.cursor, 1);
	state = reduceHistory(state, {type: 'move', delta: -Infinity});
	t.is(state.cursor, 0);
	state = reduceHistory(state, {type: 'failed', reason: 'EACCES'});
	t.like(state, {error: 'EACCES', runs});
	t.is(reduceHistory(state, {type: 'loaded', runs: runs.slice(1)}).cursor, 0, 'the cursor stays within fewer runs');
});

test('a stored run as the run screen shows it: every target, its outcome and its output', t => {
	const run = storedRunState(runs[0]!);
	t.deepEqual(run.order, ['web1', 'web2', 'web3']);
	t.true(run.finished);
	t.like(run.agents, {web1: {phase: 'ok'}, web2: {phase: 'failed'}, web3: {phase: 'unreachable', output: ''}});
});

test('history: h lists past runs, newest first; Enter opens one failures first; Enter on a host its whole output, stderr marked; Esc back each step', async t => {
	const core = new FakeCore();
	core.history = runs;
	const console = await renderApp(core);
	t.teardown(console.unmount);
	await waitForFrame(console, 'web3   127.0.0.1:7446 reachable');
	t.is(await press(console, 'h', 'newest first'), `xi-exec                                                                  history
2 runs, newest first
2026-02-24 10:00:00  check-service  1 ok · 1 failed · 1 unreachable  --on role=…
2026-02-24 09:00:00  disk-usage  1 ok  --on role=web  ops@bastion${'\n'.repeat(19)}↑↓ move · Enter open · / search · Esc back · g read again · ? help`);
	t.deepEqual(selected(console), ['2026-02-24 10:00:00  check-service  1 ok · 1 failed · 1 unreachable  --on role=…']);

	const opened = await press(console, keys.enter, 'finished in');
	t.regex(opened, /\n1 ok · 1 failed · 1 unreachable {3}finished in 0\.0 s\nfailed web2 · unreachable web3\n/);
	t.true(opened.indexOf('web2  ✗ failed (exit 3)') < opened.indexOf('web3  ⊘ unreachable') && opened.indexOf('web3  ⊘ unreachable') < opened.indexOf('web1  ✓ ok'), opened);

	const output = await press(console, keys.enter, 'lines 1–');
	t.is(output, `xi-exec                                                                      run
web2  ✗ failed (exit 3)  0.0 s
web2: checking
giving up
stderr│ upstream: connection refused
lines 1–3 of 3${'\n'.repeat(17)}↑↓ scroll · / search · n next · Esc back · ? help · PgUp PgDn page · Ctrl-C quit`);
	await press(console, keys.escape, 'finished in');
	await press(console, keys.escape, 'newest first');
	await press(console, keys.escape, 'Filter (/)');
	t.deepEqual(console.largest(), {lines: 23, columns: 80});
});

test('history search: / finds runs by their output too, saying where; a run opened from it comes back to it; Esc clears, then leaves', async t => {
	const core = new FakeCore();
	core.history = runs;
	const console = await renderApp(core);
	t.teardown(console.unmount);
	await waitForFrame(console, 'web3   127.0.0.1:7446 reachable');
	await press(console, 'h', 'newest first');
	await press(console, '/', 'Search (/):');
	t.true((await press(console, 'REFUSED', 'holding "REFUSED"')).endsWith('type the text to find · Enter keep · Esc clear · Backspace erase · Ctrl-C quit'), 'typing: letters go to the search');
	t.is(await press(console, keys.enter, 'Esc clears it'), `xi-exec                                                                  history
Search (/): REFUSED   Esc clears it
1 of 2 runs holding "REFUSED", newest first
2026-02-24 10:00:00  check-service  1 ok · 1 failed · 1 unreachable  --on role=…
    web2: stderr│ upstream: connection refused${'\n'.repeat(18)}↑↓ move · Enter open · / search · Esc back · g read again · ? help`);
	await press(console, keys.enter, 'finished in');
	t.regex(await press(console, keys.escape, 'Esc clears it'), /1 of 2 runs holding "REFUSED"/, 'back to the runs found');
	t.regex(await press(console, keys.escape, '2 runs, newest first'), /disk-usage/);
	await press(console, keys.escape, 'Filter (/)');
});

test('h on an agent\'s details: the runs on that agent; Esc goes back to its details', async t => {
	const core = new FakeCore();
	core.history = runs;
	const console = await renderApp(core);
	t.teardown(console.unmount);
	await waitForFrame(console, 'web3   127.0.0.1:7446 reachable');
	await press(console, keys.down, 'Filter (/)');
	await press(console, keys.enter, 'db1  reachable');
	const found = await press(console, 'h', 'newest first');
	t.regex(found, /\n1 of 2 runs on db1, newest first\n2026-02-24 09:00:00 {2}disk-usage/);
	t.false(found.includes('check-service'));
	await press(console, keys.escape, 'db1  reachable');
});

test('run search (pure): by agent, then text in the script, arguments, hosts, reasons or output, any case', t => {
	const [check, disk] = runs as [StoredRun, StoredRun];
	t.deepEqual(findInRun(check, {text: ''}), {});
	t.deepEqual(findInRun(check, {text: 'CHECK-serv'}), {});
	t.deepEqual(findInRun(check, {text: 'web3'}), {});
	t.deepEqual(findInRun(check, {text: 'giving up'}), {where: 'web2: giving up'});
	t.deepEqual(findInRun(check, {text: 'econnrefused'}), {where: 'web3: connect ECONNREFUSED 127.0.0.1:7446'});
	t.is(findInRun(disk, {text: 'refused'}), undefined);
	t.is(findInRun(check, {text: '', agent: 'db1'}), undefined);
	t.deepEqual(findInRun(disk, {text: 'healthy', agent: 'db1'}), {where: 'db1: service healthy'});
	t.deepEqual(searchRuns(runs, {text: 'healthy'}).map(found => found.run.header.script), ['check-service', 'disk-usage']);
});
