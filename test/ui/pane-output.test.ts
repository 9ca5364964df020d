/**
 * The console's run panes hold a bounded tail of each host's output: the cut itself (textTail,
 * paneResult), and the run screen's state over a run of many hosts printing 1 MiB each, counted
 * (test/helpers/many-hosts-run.ts: bytes held after garbage collection, midway and after), never
 * timed. The state as it was (every whole result) is measured the same way and holds every byte.
 */
import test from 'ava';
import type {AgentResult} from '../../source/run/events.js';
import {initialRunState, reduceRun} from '../../source/run/run-state.js';
import {paneLineChars, paneResult, paneStreamChars, textTail} from '../../source/ui/screens/run/pane-output.js';
import {reduceRunScreen, type RunScreenState} from '../../source/ui/screens/run/use-run-state.js';
import {runManyHosts} from '../helpers/many-hosts-run.js';

const mib = 1024 * 1024;
const result = (stdout: string, stderr = ''): AgentResult => ({agent: 'web1', status: 'ok', exitCode: 0, signal: null, stdout, stderr, truncated: false, durationMs: 1});

test('textTail: short text as it is; long text from the first line that starts in its tail; never half a surrogate pair', t => {
	t.is(textTail('abc\ndef\n', 100), 'abc\ndef\n');
	t.is(textTail('line one\nline two\nend\n', 12), 'end\n');
	t.is(textTail('x'.repeat(50), 10), 'x'.repeat(10), 'one long line: its last characters');
	t.is(textTail(`a${'😀'.repeat(10)}`, 5), '😀😀', 'a cut inside a pair drops its lone half');
});

test('paneResult: within the bound, the result itself; past it, each stream\'s tail and a note saying how much and where', t => {
	const small = result('fine\n');
	t.is(paneResult(small, 'r1'), small);
	const big = result('early line\n'.repeat(20_000), 'warning\n'.repeat(10));
	const held = paneResult(big, 'r1');
	t.true(held.stdout.length <= paneStreamChars);
	t.true(held.stdout.startsWith('early line\n'), 'from a line\'s start');
	t.true(big.stdout.endsWith(held.stdout));
	t.is(held.stderr, big.stderr);
	const dropped = big.stdout.length - held.stdout.length;
	t.deepEqual(held.notes, [`the console keeps the last 64 KiB of each stream: ${Math.round(dropped / 1024)} KiB before that dropped here (\`xi-exec runs show r1 --agent web1\` has all of it)`]);
});

function running(): RunScreenState {
	return {step: 'running', choice: {script: 'big', description: '', agents: [], args: undefined}, args: [], requestId: '00000000-0000-4000-8000-000000000001', run: initialRunState, startedAt: 0} as unknown as RunScreenState;
}

test.serial('a run of 40 hosts printing 1 MiB each: the run screen holds each pane\'s tail, not the output', async t => {
	let state = running();
	const run = await runManyHosts(40, event => {
		state = reduceRunScreen(state, {type: 'event', event});
	}, {outputBytes: mib, chunkBytes: 16 * 1024});
	t.log(`held midway ${(run.midway.heldBytes / mib).toFixed(1)} MiB, after ${(run.after.heldBytes / mib).toFixed(1)} MiB, of 40 MiB printed`);
	t.is(run.midway.aliveResults, 0);
	t.true(run.midway.heldBytes < 12 * mib, `held midway: ${run.midway.heldBytes} bytes`);
	t.true(run.after.heldBytes < 12 * mib, `held after: ${run.after.heldBytes} bytes`);
	const host = state.step === 'running' ? state.run.agents['web1'] : undefined;
	t.is(host?.result?.stdout.length, paneStreamChars);
	t.regex(host?.result?.notes?.[0] ?? '', /^the console keeps the last 64 KiB of each stream: 960 KiB before that dropped here/);
	const live = state.step === 'running' ? state.live?.['web1'] : undefined;
	t.is(live?.length, 1);
	t.is(live?.[0]?.text.length, paneLineChars);
});

test.serial('the measure sees what the run state held before: every whole result', async t => {
	let state = initialRunState;
	const run = await runManyHosts(40, event => {
		state = reduceRun(state, event);
	}, {outputBytes: mib, chunkBytes: 16 * 1024});
	t.true(run.midway.aliveResults >= 39);
	t.true(run.midway.heldBytes > 39 * mib, `held midway: ${run.midway.heldBytes} bytes`);
	t.is(state.order.length, 40);
});
