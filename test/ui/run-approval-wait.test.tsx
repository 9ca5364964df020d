/**
 * The run screen while its run waits for two-person approval (ui/screens/run/approval-wait.ts),
 * on the fake core: the notice says which request waits and what it needs; approved, the notice
 * goes and the run's hosts show; Esc while waiting stops the wait (the core's cancel) and the
 * notice says the request stays open; a rejection's reason is the notice, in full.
 */
import test from 'ava';
import type {RunEvent} from '../../source/run/events.js';
import {FakeCore, type FakeRun} from './helpers/fake-core.js';
import {keys, press, renderApp, waitForFrame, type Console} from './helpers/frames.js';

const id = '7c1e2a90-0000-4000-8000-000000000001';
const waiting = `waiting for approval: request ${id} (needs 1 of: token:lead-*); another operator approves it (A, or \`xi-exec approve ${id}\`)`;

async function running(core: FakeCore): Promise<{console: Console; run: FakeRun}> {
	const console = await renderApp(core);
	await waitForFrame(console, 'web3   127.0.0.1:7446 reachable');
	await press(console, '/', 'Filter:  ');
	await press(console, 'role=web', '3 of 6 agents');
	await press(console, keys.enter, 'Filter (/): role=web');
	await press(console, 'r', 'pick one');
	await press(console, keys.enter, 'arguments');
	await press(console, keys.enter, 'on 3 agents?');
	await press(console, keys.enter, 'request');
	return {console, run: core.runs[0]!};
}

function refused(run: FakeRun, reason: string): RunEvent[] {
	const targets = run.request.targets;
	return [
		{type: 'run-started', requestId: run.requestId, script: run.request.script, args: run.request.args, targets},
		...targets.map((agent): RunEvent => ({type: 'agent-finished', result: {agent, status: 'error', exitCode: null, signal: null, stdout: '', stderr: '', truncated: false, durationMs: 0, reason}})),
		{type: 'run-finished', requestId: run.requestId},
	];
}

test('waiting, then approved: the notice names the request and what it needs, and goes once approved', async t => {
	const core = new FakeCore();
	const {console, run} = await running(core);
	t.teardown(console.unmount);
	t.truthy(run.onApproval, 'the screen asks to hear about approval');
	run.onApproval!({state: 'waiting', id, line: waiting});
	const frame = await waitForFrame(console, 'waiting for approval');
	// Frames come with ids normalised (helpers/frames.tsx); the notice wraps at the screen's width.
	const flat = frame.replaceAll('\n', ' ');
	t.regex(flat, /waiting for approval: request [\da-f-]{36} \(needs 1 of: token:lead-\*\); another operator approves it \(A, or `xi-exec approve [\da-f-]{36}`\) · Esc stops waiting \(the request stays open\)/);
	run.onApproval!({state: 'approved', id});
	run.emit({type: 'run-started', requestId: run.requestId, script: 'check-service', args: [], targets: ['web1', 'web2', 'web3']});
	const after = await waitForFrame(console, frame => frame.includes('web1') && !frame.includes('waiting for approval'));
	t.false(after.includes('Esc stops waiting'));
	t.false(run.cancelled);
});

test('Esc while waiting stops the wait through the core (the request stays open); the hosts say so', async t => {
	const core = new FakeCore();
	const {console, run} = await running(core);
	t.teardown(console.unmount);
	run.onApproval!({state: 'waiting', id, line: waiting});
	await waitForFrame(console, 'waiting for approval');
	await press(console, keys.escape, () => run.cancelled);
	t.true(run.cancelled);
	const reason = `Stopped waiting: request ${id} stays open; once approved, \`xi-exec run --approved ${id}\` runs it.`;
	run.onApproval!({state: 'ended', id, reason});
	for (const event of refused(run, reason)) {
		run.emit(event);
	}

	const frame = await waitForFrame(console, 'Stopped waiting');
	t.true(frame.replaceAll('\n', ' ').includes('stays open; once approved'), frame);
});

test('a rejection: each host\'s line gives the reason; Esc then leaves as after any run', async t => {
	const core = new FakeCore();
	const {console, run} = await running(core);
	t.teardown(console.unmount);
	run.onApproval!({state: 'waiting', id, line: waiting});
	await waitForFrame(console, 'waiting for approval');
	const reason = `Request ${id} was rejected by lead-bob: not during the sale.`;
	run.onApproval!({state: 'ended', id, reason});
	for (const event of refused(run, reason)) {
		run.emit(event);
	}

	const frame = await waitForFrame(console, 'Not run: Request');
	t.true(frame.replaceAll('\n', ' ').includes('was rejected by lead-bob: not during the sale.'), frame);
	t.false(frame.includes('waiting for approval'), frame);
	t.false(run.cancelled);
});
