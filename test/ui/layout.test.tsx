/**
 * Every frame stays shorter than the terminal (Ink redraws the whole screen once a frame reaches
 * its height) and no wider, on every screen, at 80×24 and after a resize.
 */
import test from 'ava';
import type {RunEvent} from '../../source/run/events.js';
import {FakeCore, agentRecord, agentRun, pendingRequest} from './helpers/fake-core.js';
import {keys, largestFrame, press, renderApp, waitForFrame} from './helpers/frames.js';

test('every screen at 80×24, with more hosts and requests than fit, draws frames of at most 23 lines and 80 columns', async t => {
	const names = Array.from({length: 30}, (_, index) => `node-${String(index).padStart(2, '0')}.eu-west.example`);
	const core = new FakeCore({agents: names.map((name, index) => ({...agentRecord(name, index, {env: 'production', role: 'worker', site: 'dublin', rack: `r${index}`}), address: `10.20.30.${index}:7443`}))});
	const console = await renderApp(core);
	t.teardown(console.unmount);
	await waitForFrame(console, 'node-00');
	await press(console, '?', 'Keys');
	await press(console, 'q', 'Filter (/)');
	await press(console, keys.enter, 'agent\n');
	await press(console, keys.escape, 'Filter (/)');
	await press(console, 'r', 'pick one');
	await press(console, keys.enter, 'arguments');
	await press(console, 'a "b c" d', '> a "b c" d');
	await press(console, keys.enter, 'on 30 agents?');
	await press(console, keys.enter, 'request');
	const [run] = core.runs;
	run!.emit({type: 'run-started', requestId: run!.requestId, script: 'check-service', args: ['a', 'b c', 'd'], targets: names});
	const statuses = ['ok', 'failed', 'denied', 'timeout', 'cancelled', 'error'] as const;
	for (const [index, name] of names.entries()) {
		const lines = Array.from({length: 40}, (_, line) => `${name}: line ${line} of a long output that keeps going past the edge of the pane`).join('\n');
		for (const event of agentRun(name, `${lines}\n`, {status: statuses[index % statuses.length]!, exitCode: 1, reason: 'a reason long enough to be cut in the list, and shown in full when selected'})) {
			run!.emit(event);
		}
	}

	run!.emit({type: 'run-finished', requestId: run!.requestId} satisfies RunEvent);
	await waitForFrame(console, 'finished');
	for (let index = 0; index < 20; index++) {
		await press(console, keys.down, () => true);
	}

	await press(console, keys.escape, 'Filter (/)');
	await press(console, 'p', 'Listening on');
	for (let index = 0; index < 8; index++) {
		core.pairing!.emit(pendingRequest(`new-host-${index}`, index, {env: 'staging', role: 'worker', site: 'dublin'}));
	}

	await waitForFrame(console, '8 pending requests');
	await press(console, '123456', 'new-host-0: 123 456');
	await press(console, keys.enter, 'does not match');
	t.deepEqual(console.largest(), {lines: 23, columns: 80});
});

test('a resize lays the console out again, to the new size', async t => {
	const console = await renderApp(new FakeCore(), {columns: 120, rows: 40});
	t.teardown(console.unmount);
	await waitForFrame(console, 'web3   127.0.0.1:7446 reachable');
	t.deepEqual(largestFrame(console, console.frames.length - 1), {lines: 39, columns: 120});

	Object.defineProperty(console.stdout, 'columns', {value: 80, configurable: true});
	Object.defineProperty(console.stdout, 'rows', {value: 24, configurable: true});
	const from = console.frames.length;
	console.stdout.emit('resize');
	const frame = await waitForFrame(console, frame => frame.split('\n').length === 23);
	t.true(frame.startsWith('xi-exec                                                                    fleet\n'));
	t.true(frame.includes('\ncache1 127.0.0.1:7441 reachable   3       0s   90d     env=production role=cach…\n'), frame);
	// Ink draws the old layout once more as it sees the resize; from the console's next frame on, all fit.
	const settled = console.frames.findIndex((drawn, index) => index >= from && drawn.split('\n').length === 23);
	t.deepEqual(largestFrame(console, settled), {lines: 23, columns: 80});
});
