/**
 * Text from agents — output, script names and descriptions, reasons, names, tags in a pairing
 * request — reaches the screen with its control characters spelled out, never interpreted: a
 * host cannot clear the screen, set the title, write the clipboard (OSC 52) or reorder text.
 */
import test from 'ava';
import type {ExecutionContext} from 'ava';
import type {ScriptDescription} from '../../source/protocol/frames.js';
import {FakeCore, agentRun, demoFleet, pendingRequest, reachable, unreachable} from './helpers/fake-core.js';
import {keys, press, renderApp, waitForFrame, type Console} from './helpers/frames.js';

const hostile = 'ok \u001B[2J\u001B[H\u001B]52;c;ZXZpbA==\u0007 \u202Egnp.exe';
const shown = String.raw`ok \x1b[2J\x1b[H\x1b]52;c;ZXZpbA==\x07 \u{202e}gnp.exe`;

/** The frame as the terminal gets it holds Ink's colours (SGR) and nothing else that a terminal acts on. */
function assertInert(t: ExecutionContext, console: Console): void {
	const raw = console.lastFrame()!.replace(/\u001B\[[\d;]*m/g, '');
	t.false(/[\u0000-\u0009\u000B-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/.test(raw), JSON.stringify(raw));
}

test('run output with escape sequences is shown spelled out, in the pane', async t => {
	const core = new FakeCore();
	const console = await renderApp(core);
	t.teardown(console.unmount);
	await waitForFrame(console, 'web3   127.0.0.1:7446 reachable');
	await press(console, '/', 'Filter:  ');
	await press(console, 'web1\r', '1 of 6');
	await press(console, 'r', 'pick one');
	await press(console, keys.enter, 'arguments');
	await press(console, keys.enter, 'on 1 agent?');
	await press(console, keys.enter, 'request');
	const [run] = core.runs;
	run!.emit({type: 'run-started', requestId: run!.requestId, script: 'check-service', args: [], targets: ['web1']});
	for (const event of agentRun('web1', `${hostile}\n`, {status: 'denied', reason: `policy \u001B[8mhidden\u001B[28m`})) {
		run!.emit(event);
	}

	const frame = await waitForFrame(console, 'denied');
	t.true(frame.includes(`│ ${shown}`), frame);
	t.true(frame.includes(String.raw`│ web1  ⊝ denied: policy \x1b[8mhidden\x1b[28m`), frame);
	assertInert(t, console);
});

const evilScript: ScriptDescription = {name: 'evil\u001B]0;pwned\u0007', description: `desc ${hostile}`, timeoutSeconds: 5};

test('script names and descriptions an agent reports are spelled out in the pick list and its details', async t => {
	const core = new FakeCore({discovery: demoFleet.map(record => reachable(record, [evilScript]))});
	const console = await renderApp(core);
	t.teardown(console.unmount);
	await waitForFrame(console, 'web3   127.0.0.1:7446 reachable');
	const pick = await press(console, 'r', 'pick one');
	t.true(pick.includes(String.raw`evil\x1b]0;pwned\x07 6/6      desc ok \x1b[2J`), pick);
	assertInert(t, console);
	await press(console, keys.escape, 'Filter (/)');
	const details = await press(console, keys.enter, 'agent\n');
	t.true(details.includes(String.raw`│ evil\x1b]0;pwned\x07 │ 5 s     │ desc ok \x1b[2J\x1b[H\x1b]52;c;ZXZpbA==\ │`), details);
	assertInert(t, console);
});

test('why an agent is unreachable is spelled out on its details', async t => {
	const core = new FakeCore({discovery: [unreachable(demoFleet[0]!, `refused: ${hostile}`)]});
	const console = await renderApp(core);
	t.teardown(console.unmount);
	await waitForFrame(console, 'cache1 127.0.0.1:7441 unreachable');
	const details = await press(console, keys.enter, 'agent\n');
	t.true(details.includes(`\nrefused: ${shown}\n`), details);
	assertInert(t, console);
});

test('a pairing request\'s name, address and tags are spelled out', async t => {
	const core = new FakeCore();
	const console = await renderApp(core);
	t.teardown(console.unmount);
	await waitForFrame(console, 'web3   127.0.0.1:7446 reachable');
	await press(console, 'p', 'Listening on');
	core.pairing!.emit({...pendingRequest('x\u001B[2Jy', 0, {note: 'a\u001B]0;t\u0007'}), address: 'h\u202Eost:1'});
	const frame = await waitForFrame(console, '1 pending request');
	t.true(frame.includes(String.raw`x\x1b[2Jy`), frame);
	t.true(frame.includes(String.raw`h\u{202e}ost:1`), frame);
	t.true(frame.includes(String.raw`note=a\x1b]0;t\x07`), frame);
	t.true(frame.includes(String.raw`Code shown on x\x1b[2Jy:`), frame);
	assertInert(t, console);
	core.pairing!.emit({event: 'refused', agent: 'x\u001B[2Jy', ceremony: 'c', source: '127.0.0.1', reason: `declined on the agent: ${hostile}`});
	t.true((await waitForFrame(console, 'refused')).includes(String.raw`x\x1b[2Jy refused: declined on the agent: ok \x1b[2J`));
	assertInert(t, console);
});
