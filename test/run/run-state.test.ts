import test from 'ava';
import type {RunEvent} from '../../source/run/events.js';
import {countPhases, countStatuses, createRunFold, initialRunState, outputTailChars, reduceRun, type RunState} from '../../source/run/run-state.js';
import {formatSummary} from '../../source/output/run-summary.js';
import {agentResult} from '../output/agent-result.js';

const fold = (events: RunEvent[], state: RunState = initialRunState) => events.reduce(reduceRun, state);

const started: RunEvent = {type: 'run-started', requestId: 'req-0001abcd', script: 'uptime', args: [], targets: ['web1', 'web2', 'db1']};

test('run-started queues every target in order', t => {
	t.deepEqual(fold([started]), {
		requestId: 'req-0001abcd',
		script: 'uptime',
		order: ['web1', 'web2', 'db1'],
		agents: {
			web1: {name: 'web1', phase: 'queued', output: ''},
			web2: {name: 'web2', phase: 'queued', output: ''},
			db1: {name: 'db1', phase: 'queued', output: ''},
		},
		finished: false,
	});
});

test('each agent moves through connecting, running and its status', t => {
	const result = agentResult('web1', {stdout: 'up\n', durationMs: 5});
	const state = fold([
		started,
		{type: 'agent-connecting', agent: 'web1'},
		{type: 'agent-connecting', agent: 'web2'},
		{type: 'agent-started', agent: 'web1'},
		{type: 'agent-output', agent: 'web1', stream: 'stdout', data: 'up'},
		{type: 'agent-output', agent: 'web1', stream: 'stderr', data: '\n'},
		{type: 'agent-finished', result},
		{type: 'agent-finished', result: agentResult('db1', {status: 'unreachable', exitCode: null})},
	]);
	t.deepEqual(state.agents['web1'], {name: 'web1', phase: 'ok', output: 'up\n', result});
	t.is(state.agents['web2']!.phase, 'connecting');
	t.is(state.agents['db1']!.phase, 'unreachable');
	t.false(state.finished);
	t.true(reduceRun(state, {type: 'run-finished', requestId: 'req-0001abcd'}).finished);
});

test('events for an agent that is not a target change nothing', t => {
	const state = fold([started]);
	for (const event of [
		{type: 'agent-connecting', agent: 'intruder'},
		{type: 'agent-output', agent: 'intruder', stream: 'stdout', data: 'x'},
		{type: 'agent-finished', result: agentResult('intruder')},
		{type: 'agent-started', agent: '__proto__'},
		{type: 'agent-connecting', agent: 'constructor'},
	] satisfies RunEvent[]) {
		t.is(reduceRun(state, event), state);
	}
});

test('keeps only the tail of an agent\'s output', t => {
	const state = fold([
		started,
		{type: 'agent-output', agent: 'web1', stream: 'stdout', data: 'a'.repeat(outputTailChars)},
		{type: 'agent-output', agent: 'web1', stream: 'stdout', data: 'tail'},
	]);
	const {output} = state.agents['web1']!;
	t.is(output.length, outputTailChars);
	t.true(output.endsWith('atail'));
});

test('never changes the state it is given', t => {
	const before = fold([started]);
	const snapshot = structuredClone(before);
	fold([{type: 'agent-started', agent: 'web1'}, {type: 'agent-output', agent: 'web1', stream: 'stdout', data: 'x'}, {type: 'run-finished', requestId: 'r'}], before);
	t.deepEqual(before, snapshot);
	t.deepEqual(initialRunState, {order: [], agents: {}, finished: false});
});

test('countPhases and formatSummary: statuses first, then what is still going on', t => {
	const state = fold([
		{type: 'run-started', requestId: 'req-0001abcd', script: 'uptime', args: [], targets: ['a', 'b', 'c', 'd', 'e', 'f']},
		{type: 'agent-started', agent: 'a'},
		{type: 'agent-connecting', agent: 'b'},
		{type: 'agent-finished', result: agentResult('c', {status: 'failed', exitCode: 1})},
		{type: 'agent-finished', result: agentResult('d')},
		{type: 'agent-finished', result: agentResult('e')},
	]);
	const counts = countPhases(state);
	t.deepEqual(counts, {running: 1, connecting: 1, failed: 1, ok: 2, queued: 1});
	t.is(formatSummary(counts), '2 ok · 1 failed · 1 running · 1 connecting · 1 queued');
});

test('formatSummary orders every status as the protocol lists them', t => {
	t.is(formatSummary({error: 1, skipped: 2, cancelled: 3, timeout: 4, unreachable: 5, denied: 6, failed: 7, ok: 8}), '8 ok · 7 failed · 6 denied · 5 unreachable · 4 timeout · 3 cancelled · 2 skipped · 1 error');
	t.is(formatSummary({ok: 0}), '');
});

test('countStatuses counts results by status', t => {
	t.deepEqual(countStatuses([agentResult('a'), agentResult('b', {status: 'denied'}), agentResult('c')]), {ok: 2, denied: 1});
	t.deepEqual(countStatuses([]), {});
});

/** A run of every kind of event, in an order of its own for each seed: targets, strangers, long output, a second run. */
function eventsOf(seed: number): RunEvent[] {
	let state = seed;
	const next = (below: number) => {
		state = ((state * 1_103_515_245) + 12_345) % 2_147_483_648;
		return state % below;
	};

	const names = ['web1', 'web2', 'db1', 'intruder', 'constructor', '__proto__', 'toString'];
	const run = (requestId: string): RunEvent[] => {
		const events: RunEvent[] = [{type: 'run-started', requestId, script: 'uptime', args: [], targets: ['web1', 'web2', 'db1']}];
		for (let step = 0; step < 60; step++) {
			const agent = names[next(names.length)]!;
			switch (next(4)) {
				case 0: {
					events.push({type: 'agent-connecting', agent});
					break;
				}

				case 1: {
					events.push({type: 'agent-started', agent});
					break;
				}

				case 2: {
					events.push({type: 'agent-output', agent, stream: next(2) === 0 ? 'stdout' : 'stderr', data: String.fromCodePoint(97 + next(26)).repeat(next(3) === 0 ? outputTailChars / 2 : 3)});
					break;
				}

				default: {
					events.push({type: 'agent-finished', result: agentResult(agent, {status: next(2) === 0 ? 'ok' : 'failed'})});
				}
			}
		}

		return [...events, {type: 'run-finished', requestId}];
	};

	return [{type: 'agent-started', agent: 'web1'}, ...run('req-0001abcd'), ...run('req-0002abcd')];
}

test('createRunFold: after every event, the same state as reduceRun\'s (changed in place, O(1) an event)', t => {
	for (const seed of [1, 2, 3, 42, 1234]) {
		const fold = createRunFold();
		let reduced = initialRunState;
		for (const event of eventsOf(seed)) {
			fold.add(event);
			reduced = reduceRun(reduced, event);
			t.deepEqual(fold.state, reduced);
		}
	}

	t.deepEqual(initialRunState, {order: [], agents: {}, finished: false}, 'the shared initial state is never changed');
});

test('createRunFold: each host\'s state is a new object when it changes, and the same one when it does not', t => {
	const fold = createRunFold();
	fold.add(started);
	const before = {...fold.state.agents};
	fold.add({type: 'agent-started', agent: 'web1'});
	t.not(fold.state.agents['web1'], before['web1']);
	t.is(before['web1']!.phase, 'queued', 'the earlier host state is left as it was');
	t.is(fold.state.agents['web2'], before['web2']);
});
