import test from 'ava';
import type {AgentResult, RunEvent} from '../../source/run/events.js';
import {firstNews} from '../../source/ui/screens/run/first-news.js';

const result = (agent: string): AgentResult => ({agent, status: 'ok', exitCode: 0, signal: null, stdout: '', stderr: '', truncated: false, durationMs: 1});
const started: RunEvent = {type: 'run-started', requestId: 'r', script: 's', args: [], targets: ['a', 'b']};

test('first news: the first output and the first result of each run, nothing else', t => {
	const news = firstNews();
	const events: RunEvent[] = [
		started,
		{type: 'agent-connecting', agent: 'a'},
		{type: 'agent-started', agent: 'a'},
		{type: 'agent-output', agent: 'a', stream: 'stdout', data: 'x'},
		{type: 'agent-output', agent: 'b', stream: 'stderr', data: 'y'},
		{type: 'agent-finished', result: result('a')},
		{type: 'agent-finished', result: result('b')},
		{type: 'run-finished', requestId: 'r'},
		// A rerun on the same screen: news again.
		started,
		{type: 'agent-finished', result: result('a')},
		{type: 'agent-output', agent: 'a', stream: 'stdout', data: 'x'},
	];
	t.deepEqual(events.map(event => news(event)), [false, false, false, true, false, true, false, false, false, true, true]);
});
