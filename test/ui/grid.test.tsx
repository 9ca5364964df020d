/**
 * The run screen's layout at 80×24, 120×40 and 200×50: panes in a grid while they fit (several
 * columns from 120), one line per host past that, failures first, "N more" where cut, and no frame
 * taller or wider than the terminal. Pure layout first, then whole frames.
 */
import test from 'ava';
import type {RunEvent} from '../../source/run/events.js';
import {initialRunState, reduceRun} from '../../source/run/run-state.js';
import {listWindow, outcomeOrder, runLayout, troubleSummary} from '../../source/ui/screens/run/run-layout.js';
import {FakeCore, agentRecord, agentRun, reachable, unreachable} from './helpers/fake-core.js';
import {keys, press, renderApp, waitForFrame} from './helpers/frames.js';

test('layout: panes in a grid while each gets five rows, columns from 120 on; a list past that', t => {
	t.deepEqual(runLayout(3, 80, 19), {kind: 'grid', columns: 1, columnWidth: 80, paneRows: 6});
	t.deepEqual(runLayout(6, 80, 19), {kind: 'list', columns: 1, columnWidth: 80, listRows: 6, paneRows: 13});
	t.deepEqual(runLayout(6, 120, 35), {kind: 'grid', columns: 3, columnWidth: 40, paneRows: 17});
	t.deepEqual(runLayout(40, 200, 45), {kind: 'grid', columns: 5, columnWidth: 40, paneRows: 5});
	t.deepEqual(runLayout(40, 120, 35), {kind: 'list', columns: 3, columnWidth: 40, listRows: 14, paneRows: 21});
	t.deepEqual(runLayout(40, 80, 19), {kind: 'list', columns: 1, columnWidth: 80, listRows: 12, paneRows: 7});
});

test('layout: a window keeps the selected host in view, with a line for what is cut at either end', t => {
	t.deepEqual(listWindow(5, 0, 9), {start: 0, end: 5, above: 0, below: 0});
	t.deepEqual(listWindow(40, 0, 9), {start: 0, end: 8, above: 0, below: 32});
	t.deepEqual(listWindow(40, 7, 9), {start: 0, end: 8, above: 0, below: 32});
	t.deepEqual(listWindow(40, 8, 9), {start: 8, end: 15, above: 8, below: 25});
	t.deepEqual(listWindow(40, 14, 9), {start: 8, end: 15, above: 8, below: 25});
	t.deepEqual(listWindow(40, 15, 9), {start: 15, end: 22, above: 15, below: 18});
	t.deepEqual(listWindow(40, 20, 9), {start: 15, end: 22, above: 15, below: 18});
	// Paging by the window's size (PgDn moves the selection 7, and stops at the last) shows every entry.
	const shown = new Set<number>();
	for (const selected of [0, 7, 14, 21, 28, 35, 39]) {
		const {start, end} = listWindow(40, selected, 9);
		for (let index = start; index < end; index++) {
			shown.add(index);
		}
	}

	t.is(shown.size, 40);
	t.deepEqual(listWindow(40, 32, 9), {start: 29, end: 36, above: 29, below: 4});
	t.deepEqual(listWindow(40, 36, 9), {start: 32, end: 40, above: 32, below: 0});
	t.deepEqual(listWindow(40, 39, 9), {start: 32, end: 40, above: 32, below: 0});
});

const names = Array.from({length: 40}, (_, index) => `web${index + 1}`);
const outcome = (name: string, index: number): RunEvent[] => {
	if (index % 10 === 3) {
		return [{type: 'agent-finished', result: {agent: name, status: 'unreachable', exitCode: null, signal: null, stdout: '', stderr: '', truncated: false, durationMs: 0, reason: 'connect ECONNREFUSED'}}];
	}

	return agentRun(name, `${name}: done\n`, index % 10 === 7 ? {status: 'failed', exitCode: 2} : {status: 'ok', exitCode: 0});
};

test('order and summary: failed, timeout, unreachable, denied first, names folded', t => {
	const events: RunEvent[] = [{type: 'run-started', requestId: 'r', script: 's', args: [], targets: names}, ...names.flatMap((name, index) => outcome(name, index))];
	const run = events.reduce(reduceRun, initialRunState);
	t.deepEqual(outcomeOrder(run).slice(0, 8).map(agent => agent.name), ['web8', 'web18', 'web28', 'web38', 'web4', 'web14', 'web24', 'web34']);
	t.is(troubleSummary(run), 'failed web[8,18,28,38] · unreachable web[4,14,24,34]');
});

const sizes = [{columns: 80, rows: 24}, {columns: 120, rows: 40}, {columns: 200, rows: 50}];

for (const size of sizes) {
	test(`a 40-host run at ${size.columns}×${size.rows}: failures on screen without a key, every frame within the terminal`, async t => {
		const agents = names.map((name, index) => agentRecord(name, index, {role: 'web'}));
		const core = new FakeCore({agents, discovery: agents.map((record, index) => (index === 3 ? unreachable(record, 'connect ECONNREFUSED') : reachable(record)))});
		const console = await renderApp(core, size);
		t.teardown(console.unmount);
		await waitForFrame(console, frame => frame.includes('40 of 40 agents') && !frame.includes('checking'));
		await press(console, 'r', 'pick one');
		await press(console, keys.enter, 'arguments');
		await press(console, keys.enter, 'on 40 agents?');
		await press(console, keys.enter, 'request');
		const [run] = core.runs;
		t.deepEqual(run!.request.targets, names, 'every target the filter named, the unreachable one too');
		for (const event of [{type: 'run-started', requestId: run!.requestId, script: 'check-service', args: [], targets: names} as RunEvent, ...names.flatMap((name, index) => outcome(name, index)), {type: 'run-finished', requestId: run!.requestId} as RunEvent]) {
			run!.emit(event);
		}

		const frame = await waitForFrame(console, 'finished in');
		t.true(frame.includes('failed web[8,18,28,38] · unreachable web[4,14,24,34]'), frame);
		for (const name of ['web8', 'web18', 'web28', 'web38', 'web4', 'web14', 'web24', 'web34']) {
			t.regex(frame, new RegExp(`(^|\\s)${name} +(✗ failed|⊘ unreachable)`), `${name} is on screen`);
		}

		if (size.columns === 80) {
			t.regex(frame, /\n31 more ↓\n/, 'what is cut is counted');
		} else if (size.columns === 120) {
			t.is(frame.split('\n').filter(line => /✓ ok/.test(line)).length, 14, 'every host on one line, in three columns');
		} else {
			t.is(frame.split('╭').length - 1, 40, 'at 200×50 every host has a pane');
		}

		const lines = frame.split('\n');
		t.true(lines.length <= size.rows - 1, `${lines.length} lines`);
		const largest = console.largest();
		t.true(largest.lines <= size.rows - 1 && largest.columns <= size.columns, JSON.stringify(largest));
		if (size.columns >= 120) {
			t.true(lines.some(line => /web\d+ +[✓✗⊘].*web\d+ +[✓✗⊘]/.test(line)), `several columns of hosts:\n${frame}`);
		}
	});

	test(`six hosts at ${size.columns}×${size.rows}: ${size.columns >= 120 ? 'a grid of panes, several to a row' : 'one line each and the first failure\'s pane'}`, async t => {
		const core = new FakeCore();
		const console = await renderApp(core, size);
		t.teardown(console.unmount);
		await waitForFrame(console, 'web3   127.0.0.1:7446 reachable');
		await press(console, 'r', 'pick one');
		await press(console, keys.enter, 'arguments');
		await press(console, keys.enter, 'on 6 agents?');
		await press(console, keys.enter, 'request');
		const [run] = core.runs;
		const six = run!.request.targets;
		for (const event of [{type: 'run-started', requestId: run!.requestId, script: 'check-service', args: [], targets: six} as RunEvent, ...six.flatMap((name, index) => outcome(name, index + 5)), {type: 'run-finished', requestId: run!.requestId} as RunEvent]) {
			run!.emit(event);
		}

		const frame = await waitForFrame(console, 'finished in');
		const perRow = Math.max(...frame.split('\n').map(line => line.split('╭').length - 1));
		t.is(perRow, size.columns >= 120 ? Math.min(6, Math.floor(size.columns / 40)) : 1);
		t.is(frame.split('╭').length - 1, size.columns >= 120 ? 6 : 1, 'every host a pane where they fit; at 80×24 one line each');
		t.true(frame.indexOf('✗ failed') < frame.indexOf('✓ ok'), 'the failed host first');
		const largest = console.largest();
		t.true(largest.lines <= size.rows - 1 && largest.columns <= size.columns, JSON.stringify(largest));
	});
}

test('a grid\'s pane wraps a long reason over the lines its output does not need; a confirmation folds names that do not fit', async t => {
	const agents = names.slice(0, 6).map((name, index) => agentRecord(name, index, {role: 'web'}));
	const core = new FakeCore({agents, discovery: agents.map(record => reachable(record))});
	const console = await renderApp(core, {columns: 120, rows: 40});
	t.teardown(console.unmount);
	await waitForFrame(console, frame => frame.includes('6 of 6 agents') && !frame.includes('checking'));
	await press(console, 'r', 'pick one');
	await press(console, keys.enter, 'arguments');
	await press(console, keys.enter, 'on 6 agents?');
	await press(console, keys.enter, 'request');
	const [run] = core.runs;
	const six = run!.request.targets;
	const refused: RunEvent = {type: 'agent-finished', result: {agent: 'web2', status: 'unreachable', exitCode: null, signal: null, stdout: '', stderr: '', truncated: false, durationMs: 0, reason: 'connection refused by 127.0.0.1:7442 (is the agent running?)'}};
	for (const event of [{type: 'run-started', requestId: run!.requestId, script: 'check-service', args: [], targets: six} as RunEvent, refused, ...six.filter(name => name !== 'web2').flatMap(name => agentRun(name, `${name}: fine\n`, {status: 'ok', exitCode: 0})), {type: 'run-finished', requestId: run!.requestId} as RunEvent]) {
		run!.emit(event);
	}

	const frame = await waitForFrame(console, 'finished in');
	const pane = frame.split('\n').filter(line => line.startsWith('│ ')).map(line => line.slice(0, 40)).join('\n');
	t.true(pane.includes('refused by'), frame);
	t.true(pane.includes('running?)'), `the reason in full, over three lines:\n${frame}`);

	const forty = names.map((name, index) => agentRecord(name, index, {role: 'web'}));
	const wide = await renderApp(new FakeCore({agents: forty, discovery: forty.map(record => reachable(record))}));
	t.teardown(wide.unmount);
	await waitForFrame(wide, frame => frame.includes('40 of 40 agents') && !frame.includes('checking'));
	await press(wide, 'r', 'pick one');
	await press(wide, keys.enter, 'arguments');
	const confirm = await press(wide, keys.enter, 'on 40 agents?');
	// As --group prints them (source/run/group-output.ts: a range keeps one width of number).
	t.true(confirm.includes('\nweb[1-40]\n'), confirm);
});
