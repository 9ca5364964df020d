/**
 * The run controls on the confirmation (b m c t, d): what each sets is what the core is asked
 * for (the console decides no rollout itself), a dry run shows the core's plan and each host's
 * answer, and a canary run waits for the operator's y or n.
 */
import test from 'ava';
import type {AgentResult} from '../../source/run/events.js';
import type {DryRunView} from '../../source/ui/core.js';
import {FakeCore, agentRun} from './helpers/fake-core.js';
import {keys, normalise, press, renderApp, until, waitForFrame, type Console} from './helpers/frames.js';

const top = 'xi-exec                                                                      run';
const blank = (count: number) => '\n'.repeat(count);
const hints = {
	confirm: 'Enter run · d dry run · b m c t controls · digits the count if asked · Esc back',
	control: 'type the value · Enter set · Esc keep · Backspace erase · Ctrl-C quit',
	canary: 'y go on · n stop here · ↑↓ move · Enter output · c cancel · ? help',
};
const fleet = ['cache1', 'db1', 'db2', 'web1', 'web2', 'web3'];

/** The console on the demo's fleet, all six agents, at the confirmation of check-service. */
async function openConfirm(core: FakeCore): Promise<Console> {
	const console = await renderApp(core);
	await waitForFrame(console, 'web3   127.0.0.1:7446 reachable');
	await press(console, 'r', 'pick one');
	await press(console, keys.enter, 'arguments');
	await press(console, keys.enter, 'on 6 agents?');
	return console;
}

/** Sets one control as an operator would: its key, the value, Enter. */
async function setControl(console: Console, key: string, value: string, shown: string): Promise<string> {
	await press(console, key, 'empty: none):');
	await press(console, value, `empty: none):${value === '' ? '' : ` ${value}`}`);
	return press(console, keys.enter, shown);
}

const ok = (agent: string): AgentResult => ({agent, status: 'ok', exitCode: 0, signal: null, stdout: '', stderr: '', truncated: false, durationMs: 5});

const dryRunView: DryRunView = {
	requestId: '11111111-1111-1111-1111-111111111111',
	planHash: 'ab'.repeat(32),
	targets: fleet,
	parallel: 64,
	timeoutSeconds: 45,
	notes: [],
	answers: fleet.map(agent => agent === 'db2'
		? {agent, wouldRun: false, status: 'denied', reason: 'denied by rule "no db on staging"'}
		: {agent, wouldRun: true, status: 'ok', reason: 'allowlisted; no auth hook configured'}),
};

test('b m c t set the run controls, shown as the rollout the dispatcher will follow; the core is asked for exactly them', async t => {
	const core = new FakeCore();
	const console = await openConfirm(core);
	t.teardown(console.unmount);
	t.is(await waitForFrame(console, 'Rollout'), `${top}
Run check-service on 6 agents?
cache1, db1, db2, web1, web2, web3
Rollout: all at once; 30 s a host
Enter to run, Esc to go back.${blank(18)}${hints.confirm}`);

	t.is(await press(console, 'b', '--batch'), `${top}
Run check-service on 6 agents?
cache1, db1, db2, web1, web2, web3
Rollout: all at once; 30 s a host
--batch (N or N% at once; empty: none):
Enter to run, Esc to go back.${blank(17)}${hints.control}`);
	await setControl(console, 'b', '2', '2 at a time');
	await setControl(console, 'm', '1', 'more than 1 failure');
	await setControl(console, 'c', '1', '1 first (canary)');
	t.is(await setControl(console, 't', '45', '45 s a host'), `${top}
Run check-service on 6 agents?
cache1, db1, db2, web1, web2, web3
Rollout: 1 first (canary), then you are asked; 2 at a time; no new host after
more than 1 failure; 45 s a host
Enter to run, Esc to go back.${blank(17)}${hints.confirm}`);

	await press(console, keys.enter, 'request');
	t.is(core.runs.length, 1);
	const {approveCanary, ...asked} = core.runs[0]!.request;
	t.deepEqual(asked, {
		script: 'check-service',
		args: [],
		targets: fleet,
		rollout: {batch: {value: 2, percent: false}, maxFailures: {value: 1, percent: false}, canary: 1},
		timeoutSeconds: 45,
	});
	t.is(typeof approveCanary, 'function', 'a canary run can ask the operator');
	t.regex(await waitForFrame(console, 'canary 1'), /\nstarting {3}0\.0 s · batch 2 · max failures 1 · canary 1 · timeout 45 s\n/, 'the running screen says which controls the run has');
});

test('a control takes the values its flag takes: a bad one is named and kept out, Esc leaves the control as it was, empty clears it', async t => {
	const core = new FakeCore();
	const console = await openConfirm(core);
	t.teardown(console.unmount);
	const cases: Array<[key: string, typed: string, error: string]> = [
		['b', '0', '--batch must be at least 1 host; got "0"'],
		['b', '0%', '--batch must be a whole number or a percentage from 1% to 100%; got "0%"'],
		['m', '150%', '--max-failures must be a whole number or a percentage from 1% to 100%; got "150%"'],
		['c', '0', '--canary must be a whole number of hosts, at least 1; got "0"'],
		['t', '0', '--timeout must be whole seconds, at least 1; got "0"'],
	];
	for (const [key, typed, error] of cases) {
		await press(console, key, 'empty: none):');
		await press(console, typed, `empty: none): ${typed}`);
		const frame = await press(console, keys.enter, shown => shown.replaceAll('\n', ' ').includes(error));
		t.true(frame.endsWith(hints.control), `${key} ${typed}: still typing the control`);
		await press(console, keys.escape, hints.confirm);
	}

	t.regex(normalise(console.lastFrame()), /Rollout: all at once; 30 s a host/, 'no bad value was set');
	// Letters other than digits and % are not typed into a control (they are the confirmation's keys).
	await press(console, 'b', 'empty: none):');
	await press(console, 'x2d5%', 'empty: none): 25%');
	await press(console, keys.enter, '2 at a time');
	await press(console, 'b', 'empty: none): 25%');
	await press(console, keys.backspace, 'empty: none): 25\n');
	await press(console, keys.escape, hints.confirm);
	t.regex(normalise(console.lastFrame()), /2 at a time/, 'Esc kept 25% (2 of 6 hosts)');
	await press(console, 'b', 'empty: none): 25%');
	for (const left of ['25', '2', '']) {
		await press(console, keys.backspace, `empty: none):${left === '' ? '' : ` ${left}`}\n`);
	}

	await press(console, keys.enter, 'all at once');
	await press(console, keys.enter, 'request');
	t.false('rollout' in core.runs[0]!.request, 'no control set: no rollout asked for');
	t.false('timeoutSeconds' in core.runs[0]!.request);
});

test('d: a dry run through the core shows its plan: every host, when it would start, and whether it would run, those that would not first', async t => {
	const core = new FakeCore();
	const console = await openConfirm(core);
	t.teardown(console.unmount);
	await setControl(console, 'b', '2', '2 at a time');
	await setControl(console, 'c', '1', '1 first (canary)');
	t.is(await press(console, 'd', 'Dry run'), `${top}
Run check-service on 6 agents?
cache1, db1, db2, web1, web2, web3
Rollout: 1 first (canary), then you are asked; 2 at a time; 30 s a host
Enter to run, Esc to go back.
Dry run: asking each host whether it would run this (nothing runs)…${blank(17)}${hints.confirm}`);
	await until(() => core.dryRuns.length === 1);
	t.deepEqual(core.dryRuns[0]!.request, {script: 'check-service', args: [], targets: fleet, rollout: {batch: {value: 2, percent: false}, canary: 1}});
	t.is(core.runs.length, 0, 'nothing ran');

	core.dryRuns[0]!.answer(dryRunView);
	t.is(await waitForFrame(console, 'would run,'), `${top}
Run check-service on 6 agents?
cache1, db1, db2, web1, web2, web3
Rollout: 1 first (canary), then you are asked; 2 at a time; 30 s a host
Enter to run, Esc to go back.
Dry run: 5 would run, 1 would not: db2 (nothing ran)  plan abababababab
#  HOST    STARTS            WOULD RUN  REASON
3  db2     after the canary  no         denied by rule "no db on staging"
1  cache1  canary            yes        allowlisted; no auth hook configured
2  db1     after the canary  yes        allowlisted; no auth hook configured
4  web1    as one ends       yes        allowlisted; no auth hook configured
5  web2    as one ends       yes        allowlisted; no auth hook configured
6  web3    as one ends       yes        allowlisted; no auth hook configured${blank(10)}${hints.confirm}`);

	// Another control makes the dry run stale: it goes, and d asks again.
	await press(console, 'c', 'empty: none): 1');
	await press(console, keys.backspace, 'empty: none):\n');
	await press(console, keys.enter, 'Rollout: 2 at a time');
	t.false(normalise(console.lastFrame()).includes('Dry run'), 'a dry run of other controls is not shown');
	await press(console, 'd', 'Dry run: asking');
	await until(() => core.dryRuns.length === 2);
	core.dryRuns[1]!.refuse(new Error('Refused before running anything: check-service allows at most 3 targets.'));
	t.regex(await waitForFrame(console, 'Dry run: Refused'), /\nDry run: Refused before running anything: check-service allows at most 3\ntargets\.\n/, 'the refusal, whole');
	// An answer to the first dry run, late, is not shown for the second.
	core.dryRuns[0]!.answer(dryRunView);
	await press(console, keys.enter, 'request');
	t.is(core.runs.length, 1, 'Enter still runs after a dry run');
});

test('a dry run of forty hosts fits the terminal: the hosts that would not run first, named in the summary, "N more" below', async t => {
	const names = Array.from({length: 40}, (_, index) => `web${index + 1}`);
	const core = new FakeCore();
	const console = await openConfirm(core);
	t.teardown(console.unmount);
	await press(console, 'd', 'Dry run: asking');
	await until(() => core.dryRuns.length === 1);
	core.dryRuns[0]!.answer({...dryRunView, targets: names, answers: names.map(agent => (['web7', 'web8', 'web9', 'web31'].includes(agent)
		? {agent, wouldRun: false, status: 'unreachable', reason: 'unreachable: connect ECONNREFUSED'}
		: {agent, wouldRun: true, status: 'ok', reason: 'allowlisted'}))});
	const frame = await waitForFrame(console, 'would run,');
	t.regex(frame, /\nDry run: 36 would run, 4 would not: web\[7-9,31\] \(nothing ran\)/);
	t.regex(frame, /\n 7 {2}web7 {3}at once {2}no {9}unreachable: connect ECONNREFUSED\n 8 {2}web8 /);
	t.regex(frame, /\n\d+ more ↓ \(they would run\)\n/);
	t.deepEqual(console.largest(), {lines: 23, columns: 80});
});

test('a canary run waits for the operator: y goes on, n stops; the question is on the screen and in the footer', async t => {
	for (const [answer, said] of [['y', 'Going on with the other 5.'], ['n', 'Stopped after the canary: the other 5 are skipped.']] as const) {
		const core = new FakeCore();
		const console = await openConfirm(core);
		await setControl(console, 'c', '1', '1 first (canary)');
		await press(console, keys.enter, 'request');
		const run = core.runs[0]!;
		run.emit({type: 'run-started', requestId: run.requestId, script: 'check-service', args: [], targets: fleet});
		for (const event of agentRun('cache1', 'fine\n', {status: 'ok', exitCode: 0})) {
			run.emit(event);
		}

		await waitForFrame(console, '1 ok · 5 queued');
		const going = run.request.approveCanary!([ok('cache1')]);
		const asked = await waitForFrame(console, 'canary host is ok');
		t.regex(asked, /\nThe 1 canary host is ok: run on the other 5\? y goes on · n stops here\n/);
		t.true(asked.endsWith(hints.canary));
		// Other keys do not answer it.
		await press(console, 'j', frame => frame.includes('canary host is ok'));
		await press(console, answer, said);
		t.is(await going, answer === 'y');
		t.false(normalise(console.lastFrame()).includes('canary host is ok'));
		console.unmount();
	}
});

test('leaving the console while the canary question waits answers it no: the run is not left waiting', async t => {
	const core = new FakeCore();
	const console = await openConfirm(core);
	await setControl(console, 'c', '2', '2 first (canary)');
	await press(console, keys.enter, 'request');
	const going = core.runs[0]!.request.approveCanary!([ok('cache1'), ok('db1')]);
	await waitForFrame(console, 'The 2 canary hosts are ok: run on the other 4?');
	console.unmount();
	t.false(await going);
	t.true(core.runs[0]!.cancelled);
});

test('? during a run shows the keys and goes back to the run, which went on (it is not cancelled)', async t => {
	const core = new FakeCore();
	const console = await openConfirm(core);
	t.teardown(console.unmount);
	await press(console, keys.enter, 'request');
	const run = core.runs[0]!;
	run.emit({type: 'run-started', requestId: run.requestId, script: 'check-service', args: [], targets: fleet});
	await press(console, '?', 'Keys on a run in progress');
	for (const agent of fleet) {
		for (const event of agentRun(agent, `${agent}: fine\n`, {status: 'ok', exitCode: 0})) {
			run.emit(event);
		}
	}

	run.emit({type: 'run-finished', requestId: run.requestId});
	t.false(run.cancelled, 'the run was not cancelled by help');
	await press(console, 'x', '6 ok');
	t.regex(normalise(console.lastFrame()), /finished in/);
});
