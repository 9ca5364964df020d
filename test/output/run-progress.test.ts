/**
 * The CLI's live progress line (commands/run-progress.ts) draws the state its events fold to: the
 * same line progressLine draws for reduceRun's state of those events, run after run.
 */
import {setTimeout as delay} from 'node:timers/promises';
import test from 'ava';
import {startProgress} from '../../source/commands/run-progress.js';
import {progressLine} from '../../source/output/progress-line.js';
import type {RunEvent} from '../../source/run/events.js';
import {initialRunState, reduceRun} from '../../source/run/run-state.js';

const result = (agent: string, status: 'ok' | 'failed', durationMs: number) => ({agent, status, exitCode: status === 'ok' ? 0 : 1, signal: null, stdout: '', stderr: '', truncated: false, durationMs});
const erase = '\r\u001B[2K';

const runs: RunEvent[][] = [
	[
		{type: 'run-started', requestId: 'r1', script: 's', args: [], targets: ['a1', 'a2', 'a3', 'a4']},
		{type: 'agent-connecting', agent: 'a1'},
		{type: 'agent-started', agent: 'a2'},
		{type: 'agent-output', agent: 'a2', stream: 'stdout', data: 'x\n'},
		{type: 'agent-finished', result: result('a3', 'ok', 2000)},
		{type: 'agent-finished', result: result('a4', 'failed', 4000)},
		{type: 'agent-connecting', agent: 'stranger'},
	],
	[
		{type: 'run-finished', requestId: 'r1'},
		{type: 'run-started', requestId: 'r2', script: 's', args: [], targets: ['b1', 'b2']},
		{type: 'agent-finished', result: result('b1', 'ok', 1000)},
	],
];

test('each line drawn is progressLine of reduceRun\'s state of the events so far', async t => {
	const written: string[] = [];
	const progress = startProgress({write: text => written.push(text), window: 2, columns: () => 200, now: () => 5000});
	let state = initialRunState;
	try {
		for (const events of runs) {
			for (const event of events) {
				progress.onEvent(event);
				state = reduceRun(state, event);
			}

			// Drawn at most every 100 ms.
			await delay(150);
			t.is(written.at(-1), `${erase}${progressLine(state, {elapsedMs: 0, window: 2, columns: 200})}`);
		}
	} finally {
		progress.stop();
	}

	t.is(written.at(-1), erase, 'stop erases the line');
	t.regex(written.at(-2)!, /1\/2 done · 1 ok · 1 queued/);
});
