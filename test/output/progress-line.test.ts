import test from 'ava';
import {initialRunState, reduceRun, type RunState} from '../../source/run/run-state.js';
import type {RunEvent} from '../../source/run/events.js';
import {progressLine} from '../../source/output/progress-line.js';

const result = (agent: string, status: 'ok' | 'failed', durationMs: number) => ({agent, status, exitCode: status === 'ok' ? 0 : 1, signal: null, stdout: '', stderr: '', truncated: false, durationMs});

function state(events: RunEvent[]): RunState {
	return events.reduce(reduceRun, initialRunState);
}

const started: RunEvent = {type: 'run-started', requestId: 'r', script: 's', args: [], targets: ['a1', 'a2', 'a3', 'a4', 'a5', 'a6']};

const cases: Array<{title: string; events: RunEvent[]; elapsedMs: number; window: number; columns?: number; line: string}> = [
	{title: 'nothing done yet: no ETA', events: [started], elapsedMs: 300, window: 2, line: '0/6 done · 6 queued · 0.3 s'},
	{title: 'connecting and running are counted apart', events: [started, {type: 'agent-connecting', agent: 'a1'}, {type: 'agent-started', agent: 'a2'}], elapsedMs: 1000, window: 2, line: '0/6 done · 1 running · 1 connecting · 4 queued · 1.0 s'},
	{
		title: 'two done in 2 s and 4 s: four left in waves of two, 3 s each',
		events: [started, {type: 'agent-finished', result: result('a1', 'ok', 2000)}, {type: 'agent-finished', result: result('a2', 'failed', 4000)}],
		elapsedMs: 4200,
		window: 2,
		line: '2/6 done · 1 ok · 1 failed · 4 queued · 4.2 s · ETA ~6.0 s',
	},
	{
		title: 'a window of one: four waves',
		events: [started, {type: 'agent-finished', result: result('a1', 'ok', 20_000)}, {type: 'agent-finished', result: result('a2', 'ok', 20_000)}],
		elapsedMs: 65_000,
		window: 1,
		line: '2/6 done · 2 ok · 4 queued · 1 min 5 s · ETA ~1 min 20 s',
	},
	{title: 'all done: no ETA', events: [started, ...['a1', 'a2', 'a3', 'a4', 'a5', 'a6'].map(agent => ({type: 'agent-finished', result: result(agent, 'ok', 10)}) as RunEvent)], elapsedMs: 100, window: 6, line: '6/6 done · 6 ok · 0.1 s'},
	{title: 'cut to the terminal width, so a carriage return clears it', events: [started], elapsedMs: 300, window: 2, columns: 12, line: '0/6 done ·…'},
];

for (const c of cases) {
	test(c.title, t => {
		t.is(progressLine(state(c.events), {elapsedMs: c.elapsedMs, window: c.window, ...(c.columns === undefined ? {} : {columns: c.columns})}), c.line);
	});
}
