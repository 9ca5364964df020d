/** Event ids that mean the same event live and replayed, resuming after one, and a live run's host progress. */
import test from 'ava';
import type {RunEvent} from '../../source/run/events.js';
import {createEventNumbering, hostProgress, isAfter, keptInHistory, parseEventId} from '../../source/api/run-events.js';

const result = (agent: string) => ({agent, status: 'ok' as const, exitCode: 0, signal: null, stdout: '', stderr: '', truncated: false, durationMs: 1});
const live: RunEvent[] = [
	{type: 'run-started', requestId: 'r-12345678', script: 's', args: [], targets: ['a', 'b', 'c']},
	{type: 'agent-connecting', agent: 'a'},
	{type: 'agent-connecting', agent: 'b'},
	{type: 'agent-started', agent: 'a'},
	{type: 'agent-output', agent: 'a', stream: 'stdout', data: 'x'},
	{type: 'agent-started', agent: 'b'},
	{type: 'agent-finished', result: result('a')},
	{type: 'run-finished', requestId: 'r-12345678'},
];

test('ids number the events the history keeps N, and the others N.K after them', t => {
	const number = createEventNumbering();
	t.deepEqual(live.map(event => number(event).id), ['0', '0.1', '0.2', '0.3', '1', '1.1', '2', '3']);
	// A replay from the history (only the kept events) gets the same ids for them.
	const replay = createEventNumbering();
	t.deepEqual(live.filter(event => keptInHistory(event)).map(event => replay(event).id), ['0', '1', '2', '3']);
});

const ids: Array<{text: string; position: {kept: number; after: number} | undefined}> = [
	{text: '0', position: {kept: 0, after: 0}},
	{text: '12', position: {kept: 12, after: 0}},
	{text: '3.2', position: {kept: 3, after: 2}},
	{text: ' 4 ', position: {kept: 4, after: 0}},
	{text: '', position: undefined},
	{text: '-1', position: undefined},
	{text: '1.2.3', position: undefined},
	{text: '1e3', position: undefined},
	{text: '1.', position: undefined},
	{text: '9999999999', position: undefined},
	{text: 'abc', position: undefined},
];

for (const c of ids) {
	test(`parseEventId ${JSON.stringify(c.text)}`, t => {
		t.deepEqual(parseEventId(c.text), c.position);
	});
}

test('resuming after an id keeps exactly the later events, whichever kind the id names', t => {
	const after = (last: string) => {
		const number = createEventNumbering();
		return live.map(event => number(event)).filter(({position}) => isAfter(position, parseEventId(last)!)).map(({id}) => id);
	};

	t.deepEqual(after('0'), ['0.1', '0.2', '0.3', '1', '1.1', '2', '3']);
	t.deepEqual(after('0.2'), ['0.3', '1', '1.1', '2', '3']);
	t.deepEqual(after('1'), ['1.1', '2', '3']);
	t.deepEqual(after('3'), []);
	t.deepEqual(after('0.9'), ['1', '1.1', '2', '3'], 'a transient id the replay never had resumes at the next kept event');
});

test('hostProgress: started without a result is running; no event at all is not started', t => {
	t.deepEqual(hostProgress(['a', 'b', 'c'], live.slice(0, 6)), {running: ['a', 'b'], notStarted: ['c']});
	t.deepEqual(hostProgress(['a', 'b', 'c'], live), {running: ['b'], notStarted: ['c']});
	t.deepEqual(hostProgress(['a'], []), {running: [], notStarted: ['a']});
});
