/**
 * The runbook screen on a fake runbooks port, inside the whole console: b on the fleet, pick a
 * runbook, fill its parameters (typed per schema, secrets masked), read the dry run, run it and
 * follow its steps and their hosts; the questions a run asks; cancel (asking first); Ctrl-C
 * asking first while a runbook runs; help over a running runbook leaves it running.
 */
import test from 'ava';
import type {AgentResult} from '../../source/run/events.js';
import {FakeCore} from './helpers/fake-core.js';
import {FakeRunbooks, drainPlan, waitingRequest, type FakeRunbookRun} from './helpers/fake-runbooks.js';
import {keys, press, renderApp, selected, until, waitForFrame, type Console} from './helpers/frames.js';

const blank = (count: number) => '\n'.repeat(count);

function result(agent: string, status: AgentResult['status'], exitCode: number | null, reason?: string): AgentResult {
	return {agent, status, exitCode, signal: null, stdout: '', stderr: '', truncated: false, durationMs: 1200, ...(reason ? {reason} : {})};
}

async function openRunbooks(size = {columns: 80, rows: 24}) {
	const runbooks = new FakeRunbooks();
	const core = Object.assign(new FakeCore(), {runbooks});
	const console = await renderApp(core, size);
	await waitForFrame(console, 'web3   127.0.0.1:7446 reachable');
	await press(console, 'b', 'drain-and-restart');
	return {console, runbooks};
}

/** Fills the parameters (workers 8, a password) and asks the dry run. */
async function toPlan(console: Console, runbooks: FakeRunbooks) {
	await press(console, keys.enter, '> site');
	await press(console, keys.down, '> workers');
	await press(console, keys.backspace, shown => !shown.includes('> workers  4'));
	await press(console, '8', '> workers  8');
	await press(console, keys.down, '> password');
	await press(console, 'hunter2', '•••••••');
	await press(console, keys.enter, 'Checking the runbook');
	await until(() => runbooks.plans.length === 1);
	runbooks.plans[0]!.answer(drainPlan);
	return waitForFrame(console, 'Dry run, nothing ran');
}

/** Starts the run from the dry run; the core records it. */
async function toRun(console: Console, runbooks: FakeRunbooks): Promise<FakeRunbookRun> {
	await toPlan(console, runbooks);
	await press(console, keys.enter, 'runbook drain-and-restart');
	await until(() => runbooks.started.length === 1);
	const run = runbooks.started[0]!;
	run.record('11111111-2222-3333-4444-555555555555');
	await waitForFrame(console, 'run 00000000-0000-0000-0000-000000000000');
	return run;
}

function checkStep(run: FakeRunbookRun) {
	run.emit({type: 'step-started', step: 'check', requestId: 'r1', script: 'check-service', on: ['site=london']});
	run.step('check', {type: 'run-started', requestId: 'r1', script: 'check-service', args: [], targets: ['web1', 'web3', 'db1']});
	run.step('check', {type: 'agent-output', agent: 'web3', stream: 'stdout', data: 'web3: checking config\n'});
	run.step('check', {type: 'agent-output', agent: 'web3', stream: 'stderr', data: 'upstream: connection refused\n'});
	run.step('check', {type: 'agent-finished', result: result('web1', 'ok', 0)});
	run.step('check', {type: 'agent-finished', result: result('web3', 'failed', 3)});
	run.step('check', {type: 'agent-finished', result: result('db1', 'denied', null, 'policy: db hosts are checked by the DBA')});
	run.step('check', {type: 'run-finished', requestId: 'r1'});
	run.emit({type: 'step-finished', step: 'check', outcome: {status: 'failed', requestId: 'r1', counts: {ok: 1, failed: 1, denied: 1}, hosts: {ok: ['web1'], failed: ['web3', 'db1']}, reason: '2 of 3 hosts failed, over maxFailures 0'}});
}

test('b opens the runbooks: the list, a runbook\'s typed parameters, its dry run with each host\'s policy answer, at 80×24', async t => {
	const {console, runbooks} = await openRunbooks();
	t.teardown(console.unmount);
	t.is(await waitForFrame(console, 'broken'), `xi-exec                                                                 runbooks
2 runbooks: Enter to fill one's parameters and see its dry run
drain-and-restart      3 steps  site workers password  Check, restart where the…
broken                 invalid: steps[0].script: must be a script name${blank(18)}
↑↓ select · Enter open · Tab runs · g read the files again · Esc back · ? help`);
	t.deepEqual(selected(console), ['drain-and-restart      3 steps  site workers password  Check, restart where the…']);
	await press(console, keys.down, shown => selected(console)[0]?.startsWith('broken') === true && shown.includes('broken'));
	t.regex((await press(console, keys.enter, 'is not a valid runbook')).replaceAll('\n', ' '), /runbooks\/broken\.yaml is not a valid runbook: steps\[0\]\.script: must be a script name/, 'an invalid file says why and opens nothing');
	await press(console, keys.up, shown => !shown.includes('is not a valid'));

	t.is(await press(console, keys.enter, '> site'), `xi-exec                                                                 runbooks
drain-and-restart: parameters. Enter shows the dry run (nothing runs yet).
Check, restart where the check failed, check again
> site     london   one of london, paris
  workers  4   integer (JSON)
  password    string, secret: shown masked, recorded as a hash
site: The site in trouble${blank(15)}
↑↓ field · type · ← → choose · Enter dry run · Esc back · Backspace erase`);
	await press(console, '\u001B[C', '> site     paris');
	await press(console, '\u001B[C', '> site     london');
	await press(console, '\u001B[D', '> site     paris');
	await press(console, '\t', '> workers');
	await press(console, keys.backspace, '> workers  ');
	await press(console, 'x', '> workers  x');
	await press(console, keys.down, '> password');
	await press(console, 'hunter2', '•••••••');
	const refused = await press(console, keys.enter, 'is not JSON');
	t.regex(refused, /\n {4}workers is not JSON \(integer \(JSON\)\): type it as JSON, e\.g\. 3\n/);
	t.regex(refused, /> workers {2}x/, 'the first bad field is chosen');
	t.false(refused.includes('hunter2'), 'a secret is never shown');
	t.is(runbooks.plans.length, 0, 'nothing is asked of the core while a field is wrong');
	await press(console, keys.backspace, '> workers  \u0020');
	await press(console, '99', '> workers  99');
	t.regex(await press(console, keys.enter, 'must be <= 16'), /workers must be <= 16/, 'the schema\'s own limits, in the core\'s words');
	await press(console, keys.backspace, '> workers  9 ');
	await press(console, keys.backspace, '> workers  \u0020');
	await press(console, '8', '> workers  8');
	await press(console, keys.enter, 'Checking the runbook');
	await until(() => runbooks.plans.length === 1);
	t.deepEqual({...runbooks.plans[0]!.params}, {site: 'paris', workers: 8, password: 'hunter2'}, 'each value typed per its schema: a choice, an integer, a string');
	runbooks.plans[0]!.answer(drainPlan);
	t.is(await waitForFrame(console, 'Dry run, nothing ran'), `xi-exec                                                                 runbooks
Dry run, nothing ran: Enter runs it · Esc changes the parameters
drain-and-restart  runbooks/drain-and-restart.yaml  sha256 abababababab…
Check, restart where the check failed, check again
Parameters: site=london  workers=4  password=secret:sha256:5e8848… (secret)
1. check: check-service on site=london
   3 hosts: db1,web[1,3]   on failure: stop
   ✗ db1 denied: policy: db hosts are checked by the DBA
   ✓ would run: web[1,3]
2. restart: restart-app on the hosts where check failed
   3 hosts: db1,web[1,3]   on failure: stop
   ✓ would run: web[1,3]
3. recheck: check-service on the hosts where check failed
   3 hosts: db1,web[1,3]   on failure: stop
   ✓ would run: web[1,3]${blank(7)}
Enter run · ↑↓ scroll · PgUp PgDn a page · Esc back · ? help · Ctrl-C quit`);
	// Esc goes back to the parameters as they were typed.
	t.regex(await press(console, keys.escape, '> site'), /site {5}paris[\s\S]*workers {2}8[\s\S]*password •••••••/);
});

test('a refused dry run shows the core\'s refusal, every problem; nothing is run', async t => {
	const {console, runbooks} = await openRunbooks();
	t.teardown(console.unmount);
	await press(console, keys.enter, '> site');
	await press(console, keys.down, '> workers');
	await press(console, keys.down, '> password');
	await press(console, 'hunter2', '•••••••');
	await press(console, keys.enter, 'Checking the runbook');
	await until(() => runbooks.plans.length === 1);
	runbooks.plans[0]!.refuse(new Error('Runbook drain-and-restart cannot run as it is; nothing was run:\n  - step check: no agent matches site=london\n  - step restart: restart-app is not offered by web3'));
	const frame = await waitForFrame(console, 'refused, nothing was run');
	t.regex(frame, /\n {2}- step check: no agent matches site=london\n {2}- step restart: restart-app is not offered by web3\n/);
	await press(console, keys.enter, 'refused, nothing was run');
	t.is(runbooks.started.length, 0, 'Enter on a refusal runs nothing');
});

test('a run: steps as a list, the step\'s hosts as panes ordered by outcome, steps not reached say why, Esc back once ended', async t => {
	const {console, runbooks} = await openRunbooks();
	t.teardown(console.unmount);
	const run = await toRun(console, runbooks);
	t.deepEqual({name: run.name, params: {...run.params}}, {name: 'drain-and-restart', params: {site: 'london', workers: 8, password: 'hunter2'}}, 'the values of the dry run');
	checkStep(run);
	await waitForFrame(console, '1 ok · 1 failed · 1 denied');
	run.emit({type: 'step-started', step: 'restart', requestId: 'r2', script: 'restart-app', on: ['web3', 'db1']});
	run.step('restart', {type: 'run-started', requestId: 'r2', script: 'restart-app', args: [], targets: ['web3', 'db1']});
	const frame = await waitForFrame(console, 'restart  restart-app  running  2 queued');
	t.regex(frame, /\n✗ check {2}check-service {2}failed {2}1 ok · 1 failed · 1 denied {2}\(2 of 3 hosts faile…\n⠋ restart {2}restart-app {2}running {2}2 queued\n/, 'the running step follows');
	t.deepEqual(selected(console).slice(0, 1), ['restart  restart-app  running  2 queued']);
	// ↑ chooses the check: its hosts, failures first, the selected one's pane with its stderr marked.
	const check = await press(console, keys.up, 'web3 ✗ failed (exit 3)');
	t.is(check.split('\n').slice(6, 9).join('\n'), `web3 ✗ failed (exit 3)              upstream: connection refused
db1  ⊝ denied: policy: db hosts ar…
web1 ✓ ok`);
	t.regex(check, /│ web3 {2}✗ failed \(exit 3\) +│\n│ web3: checking config +│\n│ stderr│ upstream: connection refused +│/);
	t.regex(await press(console, '\u001B[C', '│ db1  ⊝ denied'), /│ db1 {2}⊝ denied: policy: db hosts are checked by the DBA +│/, '→ chooses the next host; its pane has the whole reason');
	t.regex(await press(console, keys.escape, 'Esc goes back once it has ended'), /The runbook is running: c cancels it/);
	run.step('restart', {type: 'agent-finished', result: result('web3', 'ok', 0)});
	run.step('restart', {type: 'agent-finished', result: result('db1', 'unreachable', null, 'connection refused')});
	run.emit({type: 'step-finished', step: 'restart', outcome: {status: 'failed', requestId: 'r2', counts: {ok: 1, unreachable: 1}, hosts: {ok: ['web3'], failed: ['db1']}, reason: '1 of 2 hosts failed, over maxFailures 0'}});
	run.emit({type: 'runbook-finished', status: 'failed', reason: 'step restart failed', notRun: [{step: 'recheck', reason: 'restart failed (onFailure: stop)'}]});
	run.end('failed', 'step restart failed');
	const ended = await waitForFrame(console, 'failed (step restart failed) in');
	t.regex(ended, /\n– recheck {2}check-service {2}not run {2}\(restart failed \(onFailure: stop\)\)\n/);
	t.true(ended.endsWith('↑↓ step · ← → host · Esc back · ? help · Ctrl-C quit'));
	await press(console, keys.escape, '2 runbooks:');
	t.false(run.cancelled, 'an ended run is not cancelled');
});

test('what a run asks: a confirm script\'s count typed, a canary\'s y or n, a wait for approval; c asks, c again cancels', async t => {
	const {console, runbooks} = await openRunbooks();
	t.teardown(console.unmount);
	const run = await toRun(console, runbooks);
	const confirmed = run.handlers.confirm('restart-app asks for confirmation: type 2 (the number of its hosts), then Enter:', '2');
	await waitForFrame(console, 'restart-app asks for confirmation');
	t.true(normalise(console).endsWith('digits the number the step asks for · Enter answer · Esc no · Backspace erase'), 'the footer has the question\'s keys');
	await press(console, '3', '\n> 3');
	t.regex(await press(console, keys.enter, 'type 2 to confirm'), /type 2 to confirm, or Esc for no/, 'a wrong count answers nothing');
	await press(console, keys.backspace, shown => !shown.includes('\n> 3'));
	await press(console, '2', '\n> 2');
	await press(console, keys.enter, 'Confirmed: the step runs.');
	t.true(await confirmed);

	const canary = run.handlers.approveCanary('restart', 1);
	await waitForFrame(console, 'restart: canary ok (1 host). y: run on its other hosts · n: stop here');
	await press(console, 'n', 'restart: stopped after the canary.');
	t.false(await canary);

	run.handlers.onWaiting('recheck', waitingRequest);
	await waitForFrame(console, 'recheck waits for approval of request 00000000-0000-0000-0000-000000000000');

	await press(console, 'c', 'Cancel the runbook? c again');
	await press(console, 'x', shown => !shown.includes('Cancel the runbook?'));
	t.false(run.cancelled, 'any other key keeps it going');
	await press(console, 'c', 'Cancel the runbook? c again');
	await press(console, 'c', 'Cancelling: the step running is stopped');
	t.true(run.cancelled);
});

test('Ctrl-C asks first while a runbook runs; help over it leaves it running', async t => {
	const {console, runbooks} = await openRunbooks();
	t.teardown(console.unmount);
	const run = await toRun(console, runbooks);
	checkStep(run);
	await waitForFrame(console, '1 ok · 1 failed · 1 denied');
	t.regex(await press(console, '?', 'Keys on runbooks'), /\nc {20}cancel: the step running stops on every host/);
	await press(console, 'x', '1 ok · 1 failed · 1 denied');
	t.false(run.cancelled, 'help unmounts nothing');
	await press(console, '\u0003', 'Ctrl-C again: cancel the run and quit');
	await press(console, 'j', shown => !shown.includes('Ctrl-C again'));
	t.false(run.cancelled);
});

function normalise(console: Console): string {
	return console.lastFrame() === undefined ? '' : console.lastFrame()!.replace(/\u001B\[[\d;]*m/g, '').split('\n').map(line => line.trimEnd()).join('\n').trimEnd();
}

const pastRuns = [
	{id: 'run-00000001', runbook: 'drain-and-restart', status: 'failed', startedAt: '2026-12-06T23:01:00.000Z', caller: 'alice@ops1', stepsOk: 1, steps: 3, reason: 'step recheck failed'},
	{id: 'run-00000002', runbook: 'drain-and-restart', status: 'ok', startedAt: '2026-12-06T22:40:00.000Z', caller: 'bob@ops2', stepsOk: 3, steps: 3},
	{id: 'run-00000003', runbook: 'quick-check', status: 'waiting', startedAt: '2026-12-06T22:10:00.000Z', caller: 'alice@ops1', stepsOk: 0, steps: 1},
] as const;

test('Tab lists the runbook runs; Enter resumes one: its secret parameters asked again, its dry run, then the run as a resume', async t => {
	const runbooks = new FakeRunbooks();
	runbooks.history = pastRuns.map(run => ({...run}));
	runbooks.entries = [...runbooks.entries, {name: 'quick-check', file: 'runbooks/quick-check.yaml', parameters: [], steps: 1, problems: []}];
	const console = await renderApp(Object.assign(new FakeCore(), {runbooks}));
	t.teardown(console.unmount);
	await waitForFrame(console, 'web3   127.0.0.1:7446 reachable');
	t.regex(await press(console, 'b', 'Tab: their runs'), /\nTab: their runs \(3, 2 to resume\)\n/);
	t.is(await press(console, keys.tab, 'newest first'), `xi-exec                                                                 runbooks
3 runbook runs, newest first · Enter resumes one not ended ok · Tab: runbooks
12-06 23:01  drain-and-restart  ✗ failed      1/3 steps ok     alice@ops1
12-06 22:40  drain-and-restart  ✓ ok          3/3 steps ok     bob@ops2
12-06 22:10  quick-check        ⧖ waiting     0/1 steps ok     alice@ops1
run run-00000001: step recheck failed${blank(16)}
↑↓ select · Enter open · Tab runs · g read the files again · Esc back · ? help`);

	// A run that ended ok: nothing to resume, said so.
	await press(console, keys.down, 'run run-00000002');
	t.regex(await press(console, keys.enter, 'nothing to resume'), /ended ok: there is nothing to resume/);
	t.is(runbooks.plans.length, 0);

	// A run with no secret parameter: its dry run at once, as a resume.
	await press(console, keys.down, 'run run-00000003');
	await press(console, keys.enter, 'Checking the runbook');
	await until(() => runbooks.plans.length === 1);
	t.deepEqual({name: runbooks.plans[0]!.name, params: runbooks.plans[0]!.params, start: runbooks.plans[0]!.start}, {name: 'quick-check', params: {}, start: {resume: 'run-00000003'}});
	await press(console, keys.escape, '3 runbook runs, newest first');

	// The failed one: its secret parameter is asked again (the others are the run's own), then its dry run, then the run.
	await press(console, keys.home, 'run run-00000001');
	const asked = await press(console, keys.enter, 'resuming run run-0000');
	t.regex(asked, /\n> password/);
	t.false(asked.includes('> site'), 'only the secret parameters are asked');
	await press(console, 'hunter2', '•••••••');
	await press(console, keys.enter, 'Checking the runbook');
	await until(() => runbooks.plans.length === 2);
	t.deepEqual({params: runbooks.plans[1]!.params, start: runbooks.plans[1]!.start}, {params: {password: 'hunter2'}, start: {resume: 'run-00000001'}});
	runbooks.plans[1]!.answer({...drainPlan, notes: ['resumes run run-00000001 from step restart; carried over: check']});
	t.regex(await waitForFrame(console, 'Enter resumes run run-0000'), /resumes run run-00000001 from step restart; carried over: check/);
	await press(console, keys.enter, 'runbook drain-and-restart');
	await until(() => runbooks.started.length === 1);
	t.deepEqual(runbooks.started[0]!.start, {resume: 'run-00000001'});
	t.deepEqual({...runbooks.started[0]!.params}, {password: 'hunter2'});
	t.deepEqual(console.largest(), {lines: 23, columns: 80});
});
