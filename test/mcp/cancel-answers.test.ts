/**
 * What `cancel_run` answers for each host of a live run (source/mcp/run-answers.ts
 * liveCancelAnswers over script-tools.ts trackRunning), as events arrive: a host is in flight from
 * the moment it is dialled, since the cancel reaches every host dialled. Its `started` frame may
 * still be on its way while the agent already runs the script: the cancel_run test in
 * mcp-tools.test.ts waited for the agents' own run.start and then found a host "not running"
 * under load (the first row fails on the code that counted hosts from `started`).
 */
import test from 'ava';
import {liveCancelAnswers} from '../../source/mcp/run-answers.js';
import {trackRunning} from '../../source/mcp/script-tools.js';
import type {LiveRun} from '../../source/mcp/session-ports.js';
import type {AgentResult, RunEvent} from '../../source/run/events.js';

const notRunning = 'not running here: finished, or not started yet (then it will not be)';
const finished = (agent: string): RunEvent => ({type: 'agent-finished', result: {agent, status: 'ok'} as AgentResult});

function answersAfter(events: RunEvent[]) {
	const live: LiveRun = {caller: 'mcp:t', cancel: new AbortController(), running: new Set(), targets: ['web1', 'web2', 'web3']};
	for (const event of events) {
		trackRunning(live, event);
	}

	return liveCancelAnswers(live);
}

test('a host dialled whose started frame has not arrived yet is cancelled, not "not running"', t => {
	t.deepEqual(answersAfter([{type: 'agent-connecting', agent: 'web1'}, {type: 'agent-connecting', agent: 'web2'}, {type: 'agent-started', agent: 'web2'}]), [
		{agent: 'web1', outcome: 'cancelled', reason: null},
		{agent: 'web2', outcome: 'cancelled', reason: null},
		{agent: 'web3', outcome: 'not running', reason: notRunning},
	]);
});

test('a host that finished, and one never dialled, are not running', t => {
	t.deepEqual(answersAfter([{type: 'agent-connecting', agent: 'web1'}, {type: 'agent-started', agent: 'web1'}, finished('web1'), {type: 'agent-connecting', agent: 'web2'}]), [
		{agent: 'web2', outcome: 'cancelled', reason: null},
		{agent: 'web1', outcome: 'not running', reason: notRunning},
		{agent: 'web3', outcome: 'not running', reason: notRunning},
	]);
});
