/** The events of a run planned from a cached description, held until its host accepts the plan (run/stale-plan-events.ts). */
import test from 'ava';
import type {AgentResult, RunEvent} from '../../source/run/events.js';
import {holdUntilAccepted} from '../../source/run/stale-plan-events.js';

const result = (fields: Partial<AgentResult>): AgentResult => ({agent: 'web1', status: 'ok', exitCode: 0, signal: null, stdout: '', stderr: '', truncated: false, durationMs: 1, ...fields});
const begin: RunEvent[] = [{type: 'run-started', requestId: 'r1', script: 'uptime', args: [], targets: ['web1']}, {type: 'agent-connecting', agent: 'web1'}];
const finished: RunEvent = {type: 'run-finished', requestId: 'r1'};

function play(events: readonly RunEvent[]) {
	const shown: RunEvent[] = [];
	const held = holdUntilAccepted(event => shown.push(event));
	const before: number[] = [];
	for (const event of events) {
		held.emit(event);
		before.push(shown.length);
	}

	return {shown, stale: held.stale(), before};
}

test('a host that starts the script releases every event, in order, and then passes them on at once', t => {
	const events: RunEvent[] = [...begin, {type: 'agent-started', agent: 'web1'}, {type: 'agent-output', agent: 'web1', stream: 'stdout', data: 'up'}, {type: 'agent-finished', result: result({})}, finished];
	const {shown, stale, before} = play(events);
	t.deepEqual(shown, events);
	t.deepEqual(before, [0, 0, 3, 4, 5, 6]);
	t.false(stale);
});

test('any other result (a denial by policy, unreachable) is shown as it is', t => {
	for (const status of ['denied', 'unreachable', 'error'] as const) {
		const events: RunEvent[] = [...begin, {type: 'agent-finished', result: result({status, reason: 'no'})}, finished];
		t.deepEqual(play(events).shown, events, status);
	}
});

test('a refusal of the plan as stale shows nothing, then or after', t => {
	const {shown, stale} = play([...begin, {type: 'agent-finished', result: result({status: 'denied', reason: 'planned with another entry', entryChanged: true})}, finished]);
	t.deepEqual(shown, []);
	t.true(stale);
});
