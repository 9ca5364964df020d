import test from 'ava';
import type {RunEvent} from '../../source/run/events.js';
import {FakeCore, agentRecord, agentRun, type FakeRun} from './helpers/fake-core.js';
import {keys, press, renderApp, selected, waitForFrame, type Console} from './helpers/frames.js';

const blank = (count: number) => '\n'.repeat(count);
const hints = {
	pick: '↑↓ move · Enter pick · Esc back · ? help · PgUp PgDn page · Ctrl-C quit',
	args: 'type the arguments · Enter go on · Esc back · Backspace erase · Ctrl-C quit',
	confirm: 'Enter run · d dry run · b m c t controls · digits the count if asked · Esc back',
	running: '↑↓ move · Enter output · c cancel · ? help · PgUp PgDn page',
	finished: '↑↓ move · Enter output · f rerun failed · a audit · Esc back · ? help',
};
const top = 'xi-exec                                                                      run';

/** The console on the demo's fleet, filtered to `role=web`, on the run screen's first step. */
async function openRun(core: FakeCore): Promise<Console> {
	const console = await renderApp(core);
	await waitForFrame(console, 'web3   127.0.0.1:7446 reachable');
	await press(console, '/', 'Filter:  ');
	await press(console, 'role=web', '3 of 6 agents');
	await press(console, keys.enter, 'Filter (/): role=web');
	await press(console, 'r', 'pick one');
	return console;
}

function started(run: FakeRun, targets: string[]): RunEvent[] {
	return [{type: 'run-started', requestId: run.requestId, script: run.request.script, args: run.request.args, targets}, ...targets.map((agent): RunEvent => ({type: 'agent-connecting', agent}))];
}

function emit(run: FakeRun, events: RunEvent[]): void {
	for (const event of events) {
		run.emit(event);
	}
}

test('run: pick a script, arguments checked against its schema, confirm, then one pane per host, live', async t => {
	const core = new FakeCore();
	const console = await openRun(core);
	t.teardown(console.unmount);
	t.is(await waitForFrame(console, 'pick one'), `${top}
Run a script on 3 agents: pick one
check-service      3/3      Check the web service
deploy             3/3      Deploy a colour
restart-app        3/3      (confirm, at most 3) Restart the app${blank(18)}${hints.pick}`);
	t.deepEqual(selected(console), ['check-service      3/3      Check the web service']);

	await press(console, keys.down, () => selected(console)[0]!.startsWith('deploy'));
	t.is(await press(console, keys.enter, 'arguments'), `${top}
deploy: arguments
Words separated by spaces, quotes for spaces inside one, or a JSON array.
Nothing is expanded. Enter to go on.
Schema: {"type":"array","prefixItems":[{"enum":["blue","green"]}],"items":false…
>${blank(17)}${hints.args}`);

	await press(console, 'purple', '> purple');
	t.is(await press(console, keys.enter, 'allowed values'), `${top}
deploy: arguments
Words separated by spaces, quotes for spaces inside one, or a JSON array.
Nothing is expanded. Enter to go on.
Schema: {"type":"array","prefixItems":[{"enum":["blue","green"]}],"items":false…
> purple
argument #1 must be equal to one of the allowed values${blank(16)}${hints.args}`);
	t.is(core.runs.length, 0, 'nothing was sent');

	for (const left of ['purpl', 'purp', 'pur', 'pu', 'p', '']) {
		await press(console, keys.backspace, frame => frame.includes(left === '' ? '\n>\n' : `\n> ${left}\n`));
	}

	await press(console, 'green', '> green');
	t.is(await press(console, keys.enter, 'on 3 agents?'), `${top}
Run deploy ["green"] on 3 agents?
web1, web2, web3
Rollout: all at once; 30 s a host
Enter to run, Esc to go back.${blank(18)}${hints.confirm}`);

	t.is(await press(console, keys.enter, 'request'), `${top}
deploy ["green"]  request 00000000-0000-0000-0000-000000000000
starting   0.0 s${blank(20)}${hints.running}`);
	t.is(core.runs.length, 1);
	const [run] = core.runs;
	t.deepEqual(run!.request, {script: 'deploy', args: ['green'], targets: ['web1', 'web2', 'web3']});
	t.true(console.lastFrame()!.includes(`request ${run!.requestId}`), 'the request id is shown, to quote later');

	emit(run!, [...started(run!, ['web1', 'web2', 'web3']), {type: 'agent-started', agent: 'web1'}, {type: 'agent-output', agent: 'web1', stream: 'stdout', data: 'web1: pulling green\nweb1: switching\n'}]);
	t.is(await waitForFrame(console, 'web1: switching'), `${top}
deploy ["green"]  request 00000000-0000-0000-0000-000000000000
1 running · 2 connecting   0.0 s
╭──────────────────────────────────────────────────────────────────────────────╮
│ web1  ⠋ running                                                              │
│ web1: pulling green                                                          │
│ web1: switching                                                              │
│                                                                              │
╰──────────────────────────────────────────────────────────────────────────────╯
╭──────────────────────────────────────────────────────────────────────────────╮
│ web2  ⠋ connecting                                                           │
│                                                                              │
│                                                                              │
│                                                                              │
╰──────────────────────────────────────────────────────────────────────────────╯
╭──────────────────────────────────────────────────────────────────────────────╮
│ web3  ⠋ connecting                                                           │
│                                                                              │
│                                                                              │
│                                                                              │
╰──────────────────────────────────────────────────────────────────────────────╯

${hints.running}`);

	emit(run!, [
		...agentRun('web1', 'web1: done\n', {status: 'ok', exitCode: 0}).slice(2),
		...agentRun('web2', 'web2: pulling green\nweb2: health check failed\n', {status: 'failed', exitCode: 3}).slice(1),
	]);
	t.regex(await waitForFrame(console, 'health check failed'), /\n1 ok · 1 failed · 1 connecting {3}0\.0 s\nfailed web2\n/, 'the summary follows each result');

	emit(run!, [...agentRun('web3', 'web3: pulling green\nweb3: a line longer than the pane is wide, which is cut at its edge rather than wrapped onto the next\nweb3: switched\n', {status: 'ok', exitCode: 0}).slice(1), {type: 'run-finished', requestId: run!.requestId}]);
	t.is(await waitForFrame(console, 'finished'), `${top}
deploy ["green"]  request 00000000-0000-0000-0000-000000000000
2 ok · 1 failed   finished in 0.0 s
failed web2
╭──────────────────────────────────────────────────────────────────────────────╮
│ web2  ✗ failed (exit 3)  0.0 s                                               │
│ web2: pulling green                                                          │
│ web2: health check failed                                                    │
╰──────────────────────────────────────────────────────────────────────────────╯
╭──────────────────────────────────────────────────────────────────────────────╮
│ web1  ✓ ok  0.0 s                                                            │
│ web1: switching                                                              │
│ web1: done                                                                   │
╰──────────────────────────────────────────────────────────────────────────────╯
╭──────────────────────────────────────────────────────────────────────────────╮
│ web3  ✓ ok  0.0 s                                                            │
│ web3: a line longer than the pane is wide, which is cut at its edge rather … │
│ web3: switched                                                               │
╰──────────────────────────────────────────────────────────────────────────────╯



${hints.finished}`);
	t.deepEqual(console.largest(), {lines: 23, columns: 80});
});

test('run: f re-runs only the hosts that were not ok, after confirming them', async t => {
	const core = new FakeCore();
	const console = await openRun(core);
	t.teardown(console.unmount);
	await press(console, keys.enter, 'arguments');
	await press(console, keys.enter, 'on 3 agents?');
	await press(console, keys.enter, 'request');
	const [run] = core.runs;
	emit(run!, [...started(run!, ['web1', 'web2', 'web3']), ...agentRun('web1', '', {status: 'ok', exitCode: 0}).slice(1)]);
	await waitForFrame(console, '1 ok · 2 connecting');
	await press(console, 'f', 'web1  ✓ ok');
	t.is(core.runs.length, 1, 'f does nothing before the run has finished');
	emit(run!, [...agentRun('web2', 'upstream: connection refused\n', {status: 'failed', exitCode: 3}).slice(1), ...agentRun('web3', '', {status: 'denied', reason: 'policy: staging hosts are frozen'}).slice(1), {type: 'run-finished', requestId: run!.requestId}]);
	await waitForFrame(console, 'finished');

	t.is(await press(console, 'f', 'on 2 agents?'), `${top}
Run check-service on 2 agents?
web2, web3
Rollout: all at once; 30 s a host
Enter to run, Esc back to the results.${blank(18)}${hints.confirm}`);
	// Esc on the confirmation comes back to the results, as they were; f asks again.
	const results = await press(console, keys.escape, 'finished');
	t.regex(results, /\nfailed web2 · denied web3\n/);
	t.is(core.runs.length, 1);
	await press(console, 'f', 'on 2 agents?');
	await press(console, keys.enter, 'request');
	t.is(core.runs.length, 2);
	t.deepEqual(core.runs[1]!.request, {script: 'check-service', args: [], targets: ['web2', 'web3']});
	t.not(core.runs[1]!.requestId, run!.requestId, 'a new request');
});

test('run: with more hosts than fit, one line each with its badge (every status), the selected one expanded', async t => {
	const names = ['app01', 'app02', 'app03', 'app04', 'app05', 'app06', 'app07', 'app08'];
	const core = new FakeCore({agents: names.map((name, index) => agentRecord(name, index, {role: 'app'}))});
	const console = await renderApp(core);
	t.teardown(console.unmount);
	await waitForFrame(console, 'app08 127.0.0.1:7448 reachable');
	await press(console, 'r', 'pick one');
	await press(console, keys.enter, 'arguments');
	await press(console, keys.enter, 'on 8 agents?');
	await press(console, keys.enter, 'request');
	const [run] = core.runs;
	emit(run!, [...started(run!, names), ...names.slice(0, 4).map((agent): RunEvent => ({type: 'agent-started', agent})), {type: 'agent-output', agent: 'app01', stream: 'stdout', data: 'app01: checking config\napp01: checking sockets\n'}]);
	t.is(await waitForFrame(console, 'sockets'), `${top}
check-service  request 00000000-0000-0000-0000-000000000000
4 running · 4 connecting   0.0 s
app01 ⠋ running                      app01: checking sockets
app02 ⠋ running
app03 ⠋ running
app04 ⠋ running
app05 ⠋ connecting
app06 ⠋ connecting
app07 ⠋ connecting
app08 ⠋ connecting
╭──────────────────────────────────────────────────────────────────────────────╮
│ app01  ⠋ running                                                             │
│ app01: checking config                                                       │
│ app01: checking sockets                                                      │
│                                                                              │
│                                                                              │
│                                                                              │
│                                                                              │
│                                                                              │
╰──────────────────────────────────────────────────────────────────────────────╯

${hints.running}`);

	const result = (agent: string, status: 'unreachable' | 'skipped', reason: string): RunEvent => ({type: 'agent-finished', result: {agent, status, exitCode: null, signal: null, stdout: '', stderr: '', truncated: false, durationMs: 0, reason}});
	emit(run!, [
		...agentRun('app01', 'service healthy\n', {status: 'ok', exitCode: 0}).slice(2),
		...agentRun('app02', 'upstream: connection refused\n', {status: 'failed', exitCode: 3}).slice(1),
		...agentRun('app03', '', {status: 'denied', reason: 'policy: role=app may not run check-service'}).slice(1),
		result('app04', 'unreachable', 'connect ECONNREFUSED 127.0.0.1:7444'),
		...agentRun('app05', 'app05: checking config\n', {status: 'timeout', signal: 'SIGKILL', reason: 'no result within 30 s'}),
		...agentRun('app06', 'app06: checking config\n', {status: 'cancelled', signal: 'SIGTERM'}),
		result('app07', 'skipped', 'the run was cancelled first'),
		...agentRun('app08', '', {status: 'error', reason: 'the script is not executable'}),
		{type: 'run-finished', requestId: run!.requestId},
	]);
	t.is(await waitForFrame(console, 'finished'), `${top}
check-service  request 00000000-0000-0000-0000-000000000000
1 ok · 1 failed · 1 denied · 1 unreachable · 1 timeout · 1 cancelled · 1 skipped
 · 1 error   finished in 0.0 s
failed app02 · timeout app05 · unreachable app04 · denied app03 · error app08 ·…
app02 ✗ failed (exit 3)              upstream: connection refused
app05 ⧖ timeout: no result within 3… app05: checking config
app04 ⊘ unreachable: connect ECONNR…
app03 ⊝ denied: policy: role=app ma…
app08 ! error: the script is not ex…
app06 ■ cancelled                    app06: checking config
app07 ↷ skipped: the run was cancel…
app01 ✓ ok                           service healthy
╭──────────────────────────────────────────────────────────────────────────────╮
│ app02  ✗ failed (exit 3)                                                     │
│ upstream: connection refused                                                 │
│                                                                              │
│                                                                              │
│                                                                              │
│                                                                              │
╰──────────────────────────────────────────────────────────────────────────────╯

${hints.finished}`);

	// Failures first, and the first of them open: no key needed to see what failed.
	t.deepEqual(selected(console), ['app02']);
	await press(console, keys.down, () => selected(console)[0] === 'app05');
	await press(console, 'j', () => selected(console)[0] === 'app04');
	t.is((await waitForFrame(console, 'app04  ⊘')).split('\n').slice(13, 16).join('\n'), `╭──────────────────────────────────────────────────────────────────────────────╮
│ app04  ⊘ unreachable: connect ECONNREFUSED 127.0.0.1:7444                    │
│                                                                              │`, 'the selected host\'s badge in full, with the reason');
	t.deepEqual(console.largest(), {lines: 23, columns: 80});
});

test('run: c cancels a run in progress; Esc waits until it has finished', async t => {
	const core = new FakeCore();
	const console = await openRun(core);
	t.teardown(console.unmount);
	await press(console, keys.enter, 'arguments');
	await press(console, keys.enter, 'on 3 agents?');
	await press(console, keys.enter, 'request');
	const [run] = core.runs;
	emit(run!, [...started(run!, ['web1', 'web2', 'web3']), {type: 'agent-started', agent: 'web1'}]);
	await waitForFrame(console, '1 running · 2 connecting');
	await press(console, keys.escape, () => true);
	t.false(run!.cancelled);
	// c asks first; another key keeps the run going; c, c cancels.
	await press(console, 'c', 'Cancel this run?');
	t.false(run!.cancelled);
	await press(console, 'j', frame => !frame.includes('Cancel this run?'));
	t.false(run!.cancelled);
	await press(console, 'c', 'Cancel this run?');
	await press(console, 'c', () => run!.cancelled);

	const skipped = (agent: string): RunEvent => ({type: 'agent-finished', result: {agent, status: 'skipped', exitCode: null, signal: null, stdout: '', stderr: '', truncated: false, durationMs: 0, reason: 'the run was cancelled'}});
	emit(run!, [...agentRun('web1', '', {status: 'cancelled', signal: 'SIGTERM'}).slice(2), skipped('web2'), skipped('web3'), {type: 'run-finished', requestId: run!.requestId}]);
	const frame = await waitForFrame(console, 'finished');
	t.regex(frame, /\n1 cancelled · 2 skipped {3}finished in 0\.0 s\ncancelled web1\n/);
	t.regex(frame, /│ web1 {2}■ cancelled {2}0\.0 s {2,}│/);
	t.regex(frame, /│ web2 {2}↷ skipped: the run was cancelled {2}0\.0 s {2,}│/);
	await press(console, keys.escape, 'Filter (/): role=web');
});

test('run: a script that asks for confirmation wants the number of targets typed', async t => {
	const core = new FakeCore();
	const console = await openRun(core);
	t.teardown(console.unmount);
	await press(console, keys.down, () => selected(console)[0]!.startsWith('deploy'));
	await press(console, keys.down, () => selected(console)[0]!.startsWith('restart-app'));
	await press(console, keys.enter, 'arguments');
	t.is(await press(console, keys.enter, 'on 3 agents?'), `${top}
Run restart-app on 3 agents?
web1, web2, web3
Rollout: all at once; 30 s a host
This script asks for confirmation: type 3 (the number of targets), then Enter:${blank(18)}${hints.confirm}`);
	t.regex(await press(console, keys.enter, 'to confirm'), /\ntype 3, the number of targets, to confirm\n/);
	await press(console, '2', 'then Enter: 2');
	await press(console, keys.enter, () => true);
	t.is(core.runs.length, 0);
	await press(console, keys.backspace, 'then Enter:\n');
	await press(console, '3', 'then Enter: 3');
	await press(console, keys.enter, 'request');
	t.deepEqual(core.runs.map(run => run.request), [{script: 'restart-app', args: [], targets: ['web1', 'web2', 'web3']}]);
});

test('run: a script\'s maxTargets refuses a wider selection before anything is sent', async t => {
	const core = new FakeCore();
	const console = await renderApp(core);
	t.teardown(console.unmount);
	await waitForFrame(console, 'web3   127.0.0.1:7446 reachable');
	await press(console, 'r', 'pick one');
	await press(console, keys.down, () => selected(console)[0]!.startsWith('deploy'));
	await press(console, keys.down, () => selected(console)[0]!.startsWith('restart-app'));
	// Said as soon as the script is picked, before anything is typed.
	t.regex(await press(console, keys.enter, 'arguments'), /\nrestart-app allows at most 3 targets \(maxTargets in its allowlist entry\); this\nselection has 6: narrow the filter\n/);
	t.regex(await press(console, keys.enter, 'on 6 agents?'), /\nrestart-app allows at most 3 targets \(maxTargets in its allowlist entry\); this\nselection has 6: narrow the filter\n/);
	await press(console, '6', 'then Enter: 6');
	t.regex(await press(console, keys.enter, 'narrow\n the filter'), /\nrestart-app allows at most 3 targets \(maxTargets in its allowlist entry\); narrow\n the filter\n$/m);
	t.is(core.runs.length, 0);
	await press(console, keys.escape, 'Filter (/)');
});

test('run: Enter twice in quick succession on the confirmation starts one run', async t => {
	const core = new FakeCore();
	const console = await openRun(core);
	t.teardown(console.unmount);
	await press(console, keys.enter, 'arguments');
	await press(console, keys.enter, 'on 3 agents?');
	console.stdin.write(keys.enter);
	await new Promise(resolve => {
		setImmediate(resolve);
	});
	console.stdin.write(keys.enter);
	await waitForFrame(console, 'request');
	await press(console, keys.enter, 'request');
	t.is(core.runs.length, 1);
});

test('run: with no reachable agent offering a script, it says so; Esc goes back', async t => {
	const core = new FakeCore({discovery: []});
	const console = await renderApp(core);
	t.teardown(console.unmount);
	await waitForFrame(console, 'checking 6');
	t.is(await press(console, 'r', 'pick one'), `${top}
Run a script on 6 agents (0 reachable): pick one
No reachable agent in this selection offers a script.${blank(20)}${hints.pick}`);
	await press(console, keys.enter, () => true);
	await press(console, keys.escape, 'Filter (/)');
});

test('run: a rerun\'s confirmation says what the run taught the fleet (a host it found unreachable)', async t => {
	const core = new FakeCore();
	const console = await openRun(core);
	t.teardown(console.unmount);
	await press(console, keys.enter, 'arguments');
	await press(console, keys.enter, 'on 3 agents?');
	await press(console, keys.enter, 'request');
	const [run] = core.runs;
	emit(run!, [...started(run!, ['web1', 'web2', 'web3']), ...agentRun('web1', '', {status: 'ok', exitCode: 0}).slice(1), ...agentRun('web3', '', {status: 'failed', exitCode: 1}).slice(1), {type: 'agent-finished', result: {agent: 'web2', status: 'unreachable', exitCode: null, signal: null, stdout: '', stderr: '', truncated: false, durationMs: 0, reason: 'connect ECONNREFUSED'}}, {type: 'run-finished', requestId: run!.requestId}]);
	await waitForFrame(console, 'finished');
	const confirm = await press(console, 'f', 'on 2 agents?');
	t.true(confirm.includes('\nNot expected to run (each is reported with its state): web2 unreachable (connect\n ECONNREFUSED)\n'), `wrapped, not cut:\n${confirm}`);
});
