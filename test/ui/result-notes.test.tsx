/**
 * A result's notes (what happened on the way: direct TLS failing over to the relay, a relay gap
 * recovered) and the link that carried the run, as the CLI prints them (`NAME ~ note`): in the
 * run screen's panes, in its one-line rows (the first note, or a `~` where the row is narrow), and
 * at the end of the output view. Whole frames at 80×24 and 120×40.
 */
import test from 'ava';
import type {AgentResult, RunEvent} from '../../source/run/events.js';
import {noteLines, relayMark} from '../../source/ui/screens/run/result-notes.js';
import {FakeCore, agentRecord, agentRun, reachable} from './helpers/fake-core.js';
import {keys, press, renderApp, waitForFrame, type Console} from './helpers/frames.js';

/** A pane's line at 80 columns. */
const pane = (...texts: string[]) => texts.map(text => `│ ${text.padEnd(76)} │`).join('\n');
const relayed: Partial<AgentResult> = {via: 'relay', notes: ['direct TLS: connect ECONNREFUSED 127.0.0.1:7442; tried the relay', 'relay: result asked again after a gap (×2)']};

test('notes are `~ note` lines, made visible; the relay is named, direct TLS is not', t => {
	t.deepEqual(noteLines({notes: ['gap\u001B[31m recovered']}), ['~ gap\\x1b[31m recovered']);
	t.deepEqual(noteLines(undefined), []);
	t.deepEqual(noteLines({}), []);
	t.is(relayMark({via: 'relay'}), ' via relay');
	t.is(relayMark({via: 'tls'}), '');
	t.is(relayMark(undefined), '');
});

/** A finished run of check-service on `names`, the console's run screen showing it. */
async function finishedRun(names: string[], size: {columns: number; rows: number}, result: (name: string, index: number) => RunEvent[]): Promise<Console> {
	const agents = names.map((name, index) => agentRecord(name, index, {role: 'web'}));
	const core = new FakeCore({agents, discovery: agents.map(record => reachable(record))});
	const console = await renderApp(core, size);
	await waitForFrame(console, frame => frame.includes(`${names.length} of ${names.length} agents`) && !frame.includes('checking'));
	await press(console, 'r', 'pick one');
	await press(console, keys.enter, 'arguments');
	await press(console, keys.enter, `on ${names.length} agents?`);
	await press(console, keys.enter, 'request');
	const [run] = core.runs;
	for (const event of [{type: 'run-started', requestId: run!.requestId, script: 'check-service', args: [], targets: names} as RunEvent, ...names.flatMap((name, index) => result(name, index)), {type: 'run-finished', requestId: run!.requestId} as RunEvent]) {
		run!.emit(event);
	}

	await waitForFrame(console, 'finished in');
	return console;
}

test('a pane shows its host\'s notes below the output and the relay beside its time; the output view ends with them', async t => {
	const console = await finishedRun(['web1', 'web2'], {columns: 80, rows: 24}, (name, index) => agentRun(name, `${name}: active\n`, {status: 'ok', exitCode: 0, ...(index === 1 ? relayed : {via: 'tls'})}));
	t.teardown(console.unmount);
	const frame = await waitForFrame(console, '~ relay');
	t.true(frame.includes(pane('web2  ✓ ok  0.0 s via relay', 'web2: active', '~ direct TLS: connect ECONNREFUSED 127.0.0.1:7442; tried the relay', '~ relay: result asked again after a gap (×2)')), frame);
	t.regex(frame, /│ web1 {2}✓ ok {2}0\.0 s {3}/, 'direct TLS is not named');

	await press(console, keys.down, frame => /╭─+╮\n│ web2/.test(frame.split('\n').slice(3, 12).join('\n')) || frame.includes('web2  ✓ ok'));
	const output = await press(console, keys.enter, 'lines 1–');
	t.true(output.includes(`web2  ✓ ok  0.0 s via relay
web2: active
~ direct TLS: connect ECONNREFUSED 127.0.0.1:7442; tried the relay
~ relay: result asked again after a gap (×2)
lines 1–3 of 3`), output);
});

test('a pane too short for every note says how many more the output view has', async t => {
	const many = {via: 'relay' as const, notes: Array.from({length: 6}, (_, index) => `relay: gap ${index + 1} recovered`)};
	const console = await finishedRun(['web1', 'web2', 'web3'], {columns: 80, rows: 24}, (name, index) => agentRun(name, `${name}: one\n${name}: two\n${name}: three\n`, {status: 'ok', exitCode: 0, ...(index === 0 ? many : {})}));
	t.teardown(console.unmount);
	const frame = await waitForFrame(console, 'notes: Enter');
	// Three lines inside the pane below its badge: two of output, one that counts the notes.
	t.true(frame.includes(pane('web1  ✓ ok  0.0 s via relay', 'web1: two', 'web1: three', '~ 6 notes: Enter shows them')), frame);
});

test('a host\'s row shows its first note where it has room, a `~` in narrow columns', async t => {
	const names = Array.from({length: 40}, (_, index) => `web${index + 1}`);
	const result = (name: string, index: number) => agentRun(name, `${name}: active\n`, {status: index === 4 ? 'failed' : 'ok', exitCode: index === 4 ? 1 : 0, ...(index === 4 ? relayed : {})});
	const narrow = await finishedRun(names, {columns: 80, rows: 24}, result);
	t.teardown(narrow.unmount);
	const row = (await waitForFrame(narrow, '~ direct TLS')).split('\n').find(line => line.startsWith('web5 '));
	t.is(row, 'web5  ✗ failed (exit 1)              ~ direct TLS: connect ECONNREFUSED 127.0.…');

	const wide = await finishedRun(names, {columns: 120, rows: 40}, result);
	t.teardown(wide.unmount);
	const frame = await waitForFrame(wide, 'finished in');
	t.regex(frame, /\nweb5 {2}✗ failed \(exit 1\) +~ web15 /, frame);
	t.true(frame.includes('│ ~ direct TLS: connect ECONNREFUSED 127.0.0.1:7442; tried the relay'), 'the selected host\'s pane says them in full');
	t.notRegex(frame, /web1 {2}✓ ok +~/, 'a row without notes has no mark');
});
