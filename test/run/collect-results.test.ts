/** A face's collector answers results in target order, whatever order the hosts finished in, and keeps what the face asks. */
import test from 'ava';
import {collectResults} from '../../source/run/collect-results.js';
import type {AgentResult, RunEvent} from '../../source/run/events.js';
import {allOk, createSummaryKeeper} from '../../source/run/run-summary.js';

const ended = (agent: string, status: AgentResult['status'] = 'ok'): RunEvent => ({type: 'agent-finished', result: {agent, status, exitCode: status === 'ok' ? 0 : 1, signal: null, stdout: `${agent}\n`, stderr: '', truncated: false, durationMs: 5}});

test('results in target order; events forwarded as they come; a kept shape', t => {
	const forwarded: string[] = [];
	const collected = collectResults(event => forwarded.push(event.type), result => `${result.agent}:${result.status}`);
	for (const event of [{type: 'run-started', requestId: 'r', script: 's', args: [], targets: ['web1', 'web2', 'web3']} as RunEvent, ended('web3', 'failed'), ended('web1'), ended('web2'), {type: 'run-finished', requestId: 'r'} as RunEvent]) {
		collected.emit(event);
	}

	t.deepEqual(collected.results(), ['web1:ok', 'web2:ok', 'web3:failed']);
	t.deepEqual(forwarded, ['run-started', 'agent-finished', 'agent-finished', 'agent-finished', 'run-finished']);
});

test('a result for a host not among the targets, or twice, is kept after the others', t => {
	const collected = collectResults();
	for (const event of [{type: 'run-started', requestId: 'r', script: 's', args: [], targets: ['web1']} as RunEvent, ended('web9'), ended('web1'), ended('web1', 'failed')]) {
		collected.emit(event);
	}

	t.deepEqual(collected.results().map(result => `${result.agent}:${result.status}`), ['web1:ok', 'web9:ok', 'web1:failed']);
});

test('the summary: counts, the first hosts of each outcome not ok up to the limit, the rest counted', t => {
	const keeper = createSummaryKeeper(2);
	for (const event of [ended('a'), ended('b', 'failed'), ended('c', 'failed'), ended('d', 'failed'), ended('e', 'timeout')]) {
		keeper.add((event as Extract<RunEvent, {type: 'agent-finished'}>).result);
	}

	const summary = keeper.summary();
	t.deepEqual(summary, {
		total: 5,
		counts: {ok: 1, failed: 3, timeout: 1},
		notOk: [
			{agent: 'b', status: 'failed', exitCode: 1, signal: null, durationMs: 5},
			{agent: 'c', status: 'failed', exitCode: 1, signal: null, durationMs: 5},
			{agent: 'e', status: 'timeout', exitCode: 1, signal: null, durationMs: 5},
		],
		unlisted: 1,
	});
	t.false(allOk(summary));
	t.true(allOk(createSummaryKeeper().summary()), 'a run of no host did nothing wrong');
});
