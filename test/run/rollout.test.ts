import test from 'ava';
import {countsAsFailure, nextDecision, parseAmount, planRollout, type Amount, type CanaryDecision, type Decision, type Rollout, type RolloutOptions} from '../../source/run/rollout.js';
import type {RunStatus} from '../../source/protocol/frames.js';

const count = (value: number): Amount => ({value, percent: false});
const percent = (value: number): Amount => ({value, percent: true});

const amounts: Array<{text: string; result: Amount | string}> = [
	{text: '5', result: count(5)},
	{text: '0', result: count(0)},
	{text: '20%', result: percent(20)},
	{text: '1%', result: percent(1)},
	{text: '100%', result: percent(100)},
	{text: ' 5 ', result: count(5)},
	{text: '0%', result: '--batch must be a whole number or a percentage from 1% to 100%; got "0%"'},
	{text: '101%', result: '--batch must be a whole number or a percentage from 1% to 100%; got "101%"'},
	{text: '5.5', result: '--batch must be a whole number or a percentage from 1% to 100%; got "5.5"'},
	{text: '-1', result: '--batch must be a whole number or a percentage from 1% to 100%; got "-1"'},
	{text: '1e3', result: '--batch must be a whole number or a percentage from 1% to 100%; got "1e3"'},
	{text: '%', result: '--batch must be a whole number or a percentage from 1% to 100%; got "%"'},
	{text: '', result: '--batch must be a whole number or a percentage from 1% to 100%; got ""'},
	{text: 'five', result: '--batch must be a whole number or a percentage from 1% to 100%; got "five"'},
];

for (const row of amounts) {
	test(`parseAmount ${JSON.stringify(row.text)}`, t => {
		t.deepEqual(parseAmount('batch', row.text), row.result);
	});
}

const plans: Array<{title: string; options: RolloutOptions; total: number; rollout: Rollout}> = [
	{title: 'no batch: the parallel limit is the window', options: {parallel: 32}, total: 10, rollout: {total: 10, window: 32, canary: 0, ignoreUnreachable: false}},
	{title: '--batch 5', options: {parallel: 32, batch: count(5)}, total: 10, rollout: {total: 10, window: 5, canary: 0, ignoreUnreachable: false}},
	{title: '--batch above --parallel: parallel caps it', options: {parallel: 32, batch: count(50)}, total: 100, rollout: {total: 100, window: 32, canary: 0, ignoreUnreachable: false}},
	{title: '--batch 0 runs one at a time', options: {parallel: 32, batch: count(0)}, total: 10, rollout: {total: 10, window: 1, canary: 0, ignoreUnreachable: false}},
	{title: '--batch 20% of 10', options: {parallel: 32, batch: percent(20)}, total: 10, rollout: {total: 10, window: 2, canary: 0, ignoreUnreachable: false}},
	{title: '--batch 25% of 10 rounds up', options: {parallel: 32, batch: percent(25)}, total: 10, rollout: {total: 10, window: 3, canary: 0, ignoreUnreachable: false}},
	{title: '--batch 33% of 7 rounds up', options: {parallel: 32, batch: percent(33)}, total: 7, rollout: {total: 7, window: 3, canary: 0, ignoreUnreachable: false}},
	{title: '--batch 1% of 10 is at least one', options: {parallel: 32, batch: percent(1)}, total: 10, rollout: {total: 10, window: 1, canary: 0, ignoreUnreachable: false}},
	{title: '--batch 100%', options: {parallel: 32, batch: percent(100)}, total: 10, rollout: {total: 10, window: 10, canary: 0, ignoreUnreachable: false}},
	{title: '--batch 20% of no target', options: {parallel: 32, batch: percent(20)}, total: 0, rollout: {total: 0, window: 1, canary: 0, ignoreUnreachable: false}},
	{title: '--max-failures 2', options: {parallel: 32, maxFailures: count(2)}, total: 10, rollout: {total: 10, window: 32, maxFailures: 2, canary: 0, ignoreUnreachable: false}},
	{title: '--max-failures 0', options: {parallel: 32, maxFailures: count(0)}, total: 10, rollout: {total: 10, window: 32, maxFailures: 0, canary: 0, ignoreUnreachable: false}},
	{title: '--max-failures 10% of 10', options: {parallel: 32, maxFailures: percent(10)}, total: 10, rollout: {total: 10, window: 32, maxFailures: 1, canary: 0, ignoreUnreachable: false}},
	{title: '--max-failures 15% of 10 rounds down', options: {parallel: 32, maxFailures: percent(15)}, total: 10, rollout: {total: 10, window: 32, maxFailures: 1, canary: 0, ignoreUnreachable: false}},
	{title: '--max-failures 5% of 10 rounds down to 0', options: {parallel: 32, maxFailures: percent(5)}, total: 10, rollout: {total: 10, window: 32, maxFailures: 0, canary: 0, ignoreUnreachable: false}},
	{title: '--canary 2 --ignore-unreachable', options: {parallel: 32, canary: 2, ignoreUnreachable: true}, total: 10, rollout: {total: 10, window: 32, canary: 2, ignoreUnreachable: true}},
	{title: '--canary above the number of targets', options: {parallel: 32, canary: 20}, total: 10, rollout: {total: 10, window: 32, canary: 10, ignoreUnreachable: false}},
];

for (const row of plans) {
	test(`planRollout: ${row.title}`, t => {
		t.deepEqual(planRollout(row.options, row.total), row.rollout);
	});
}

const failureTable: Array<{status: RunStatus; counts: boolean; ignoringUnreachable: boolean}> = [
	{status: 'ok', counts: false, ignoringUnreachable: false},
	{status: 'failed', counts: true, ignoringUnreachable: true},
	{status: 'timeout', counts: true, ignoringUnreachable: true},
	{status: 'denied', counts: true, ignoringUnreachable: true},
	{status: 'error', counts: true, ignoringUnreachable: true},
	{status: 'unreachable', counts: true, ignoringUnreachable: false},
	{status: 'cancelled', counts: false, ignoringUnreachable: false},
	{status: 'skipped', counts: false, ignoringUnreachable: false},
];

test('which statuses count as failures', t => {
	const strict = planRollout({parallel: 1}, 1);
	const lenient = planRollout({parallel: 1, ignoreUnreachable: true}, 1);
	t.deepEqual(failureTable.map(row => ({status: row.status, counts: countsAsFailure(strict, row.status), ignoringUnreachable: countsAsFailure(lenient, row.status)})), failureTable);
});

const tenByFive = planRollout({parallel: 32, batch: count(5), maxFailures: count(2)}, 10);
const canaryTwo = planRollout({parallel: 32, batch: count(3), canary: 2}, 10);
const start = (n: number): Decision => ({type: 'start', count: n});
const wait: Decision = {type: 'wait'};
const stop = (reason: string): Decision => ({type: 'stop', reason});

const decisions: Array<{title: string; rollout: Rollout; started: number; finished: RunStatus[]; canary?: CanaryDecision; decision: Decision}> = [
	{title: 'nothing started: a first wave', rollout: tenByFive, started: 0, finished: [], decision: start(5)},
	{title: 'the window is full', rollout: tenByFive, started: 5, finished: [], decision: wait},
	{title: 'one finished: one more (a sliding window)', rollout: tenByFive, started: 5, finished: ['ok'], decision: start(1)},
	{title: 'two failures: at the threshold, not over it', rollout: tenByFive, started: 5, finished: ['failed', 'failed'], decision: start(2)},
	{title: 'a third failure: stop', rollout: tenByFive, started: 7, finished: ['failed', 'failed', 'failed'], decision: stop('3 failures, over --max-failures 2')},
	{title: 'timeout, denied and error are failures', rollout: tenByFive, started: 5, finished: ['timeout', 'denied', 'error'], decision: stop('3 failures, over --max-failures 2')},
	{title: 'unreachable is a failure', rollout: tenByFive, started: 5, finished: ['unreachable', 'unreachable', 'unreachable'], decision: stop('3 failures, over --max-failures 2')},
	{title: 'unreachable is not a failure with --ignore-unreachable', rollout: {...tenByFive, ignoreUnreachable: true}, started: 5, finished: ['unreachable', 'unreachable', 'unreachable'], decision: start(3)},
	{title: 'cancelled and skipped are not failures', rollout: tenByFive, started: 5, finished: ['cancelled', 'skipped', 'ok'], decision: start(3)},
	{title: 'over the threshold with every host started: wait for the running ones', rollout: tenByFive, started: 10, finished: ['failed', 'failed', 'failed', 'ok'], decision: wait},
	{title: 'every host finished: done, whatever the failures', rollout: tenByFive, started: 10, finished: ['failed', 'failed', 'failed', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok'], decision: {type: 'done'}},
	{title: 'the last wave is smaller than the window', rollout: tenByFive, started: 8, finished: ['ok', 'ok', 'ok', 'ok', 'ok', 'ok'], decision: start(2)},
	{title: 'all started, some running', rollout: tenByFive, started: 10, finished: ['ok'], decision: wait},
	{title: 'no threshold: failures never stop the run', rollout: planRollout({parallel: 5}, 10), started: 5, finished: ['failed', 'failed', 'failed', 'failed', 'failed'], decision: start(5)},
	{title: '--max-failures 0: the first failure stops', rollout: planRollout({parallel: 5, maxFailures: count(0)}, 10), started: 5, finished: ['failed'], decision: stop('1 failures, over --max-failures 0')},
	{title: 'no targets: done at once', rollout: planRollout({parallel: 5}, 0), started: 0, finished: [], decision: {type: 'done'}},
	{title: 'canary: the canary hosts first, even with a wider window', rollout: canaryTwo, started: 0, finished: [], decision: start(2)},
	{title: 'canary: running', rollout: canaryTwo, started: 2, finished: ['ok'], decision: wait},
	{title: 'canary: both ok, ask', rollout: canaryTwo, started: 2, finished: ['ok', 'ok'], decision: {type: 'ask-canary'}},
	{title: 'canary: approved, a full window', rollout: canaryTwo, started: 2, finished: ['ok', 'ok'], canary: 'approved', decision: start(3)},
	{title: 'canary: refused', rollout: canaryTwo, started: 2, finished: ['ok', 'ok'], canary: 'refused', decision: stop('the canary was not approved')},
	{title: 'canary: one failed', rollout: canaryTwo, started: 2, finished: ['ok', 'failed'], decision: stop('1 of 2 canary hosts were not ok')},
	{title: 'canary: unreachable is not ok, even with --ignore-unreachable', rollout: {...canaryTwo, ignoreUnreachable: true}, started: 2, finished: ['unreachable', 'ok'], decision: stop('1 of 2 canary hosts were not ok')},
	{title: 'canary: both not ok', rollout: canaryTwo, started: 2, finished: ['timeout', 'cancelled'], decision: stop('2 of 2 canary hosts were not ok')},
	{title: 'canary of one that failed', rollout: planRollout({parallel: 5, canary: 1}, 10), started: 1, finished: ['failed'], decision: stop('1 of 1 canary host was not ok')},
	{title: 'canary wider than the window: start what fits', rollout: planRollout({parallel: 5, batch: count(2), canary: 3}, 10), started: 2, finished: ['ok'], decision: start(1)},
	{title: 'canary of every host, all ok: done, nothing to ask', rollout: planRollout({parallel: 5, canary: 10}, 3), started: 3, finished: ['ok', 'ok', 'ok'], decision: {type: 'done'}},
	{title: 'canary and a threshold of 0: the threshold speaks first', rollout: planRollout({parallel: 5, canary: 2, maxFailures: count(0)}, 10), started: 2, finished: ['ok', 'failed'], decision: stop('1 failures, over --max-failures 0')},
];

for (const row of decisions) {
	test(`nextDecision: ${row.title}`, t => {
		t.deepEqual(nextDecision(row.rollout, {started: row.started, finished: row.finished, canary: row.canary ?? 'undecided'}), row.decision);
	});
}

/**
 * Drives the planner as the dispatcher does, with hosts in a stable order that finish in the
 * order they started: start what it says, finish the oldest running host when it says wait,
 * answer the canary question, and after a stop let the running hosts finish (never-started ones
 * are skipped).
 */
function simulate(options: RolloutOptions, outcomes: Record<string, RunStatus>, canaryAnswer: CanaryDecision = 'approved') {
	const hosts = Object.keys(outcomes).sort();
	const rollout = planRollout(options, hosts.length);
	const finished: RunStatus[] = [];
	const running: string[] = [];
	const events: string[] = [];
	const statuses: Record<string, RunStatus> = {};
	let started = 0;
	let canary: CanaryDecision = 'undecided';
	let stopped = false;
	const finishOldest = () => {
		const host = running.shift()!;
		statuses[host] = outcomes[host]!;
		finished.push(outcomes[host]!);
		events.push(`${host} ${outcomes[host]!}`);
	};

	for (let step = 0; step < 1000; step++) {
		if (stopped) {
			if (running.length === 0) {
				break;
			}

			finishOldest();
			continue;
		}

		const decision = nextDecision(rollout, {started, finished, canary});
		if (decision.type === 'done') {
			break;
		}

		if (decision.type === 'start') {
			const wave = hosts.slice(started, started + decision.count);
			running.push(...wave);
			started += wave.length;
			events.push(`start ${wave.join(' ')}`);
		} else if (decision.type === 'ask-canary') {
			canary = canaryAnswer;
			events.push(`canary ${canaryAnswer}`);
		} else if (decision.type === 'stop') {
			stopped = true;
			events.push(`stop: ${decision.reason}`);
		} else {
			if (running.length === 0) {
				throw new Error('the planner waits with nothing running');
			}

			finishOldest();
		}
	}

	for (const host of hosts.slice(started)) {
		statuses[host] = 'skipped';
	}

	const counts: Partial<Record<RunStatus, number>> = {};
	for (const status of Object.values(statuses)) {
		counts[status] = (counts[status] ?? 0) + 1;
	}

	return {started, counts, events};
}

const web = (failing: string[], status: RunStatus = 'failed'): Record<string, RunStatus> =>
	Object.fromEntries(Array.from({length: 10}, (_, index) => `web${String(index + 1).padStart(2, '0')}`).map(host => [host, failing.includes(host) ? status : 'ok']));

test('the issue\'s example: 10 hosts, --batch 5 --max-failures 2, the first three fail: 7 started, 3 skipped', t => {
	t.deepEqual(simulate({parallel: 32, batch: count(5), maxFailures: count(2)}, web(['web01', 'web02', 'web03'])), {
		started: 7,
		counts: {ok: 4, failed: 3, skipped: 3},
		events: [
			'start web01 web02 web03 web04 web05',
			'web01 failed',
			'start web06',
			'web02 failed',
			'start web07',
			'web03 failed',
			'stop: 3 failures, over --max-failures 2',
			'web04 ok',
			'web05 ok',
			'web06 ok',
			'web07 ok',
		],
	});
});

test('in-flight hosts overshoot the threshold: --batch 5 --max-failures 1, the first five fail', t => {
	const result = simulate({parallel: 32, batch: count(5), maxFailures: count(1)}, web(['web01', 'web02', 'web03', 'web04', 'web05']));
	t.is(result.started, 6);
	t.deepEqual(result.counts, {failed: 5, ok: 1, skipped: 4});
	t.true(result.events.includes('stop: 2 failures, over --max-failures 1'));
});

test('the last three fail: every host had started, so nothing is skipped', t => {
	t.like(simulate({parallel: 32, batch: count(5), maxFailures: count(2)}, web(['web08', 'web09', 'web10'])), {started: 10, counts: {ok: 7, failed: 3}});
});

test('timeouts count towards the threshold and are reported as timeouts, not failures', t => {
	t.like(simulate({parallel: 32, batch: count(5), maxFailures: count(2)}, web(['web01', 'web02', 'web03'], 'timeout')), {started: 7, counts: {ok: 4, timeout: 3, skipped: 3}});
});

test('unreachable hosts stop a run unless --ignore-unreachable', t => {
	t.like(simulate({parallel: 32, batch: count(5), maxFailures: count(2)}, web(['web01', 'web02', 'web03'], 'unreachable')), {started: 7, counts: {ok: 4, unreachable: 3, skipped: 3}});
	t.like(simulate({parallel: 32, batch: count(5), maxFailures: count(2), ignoreUnreachable: true}, web(['web01', 'web02', 'web03'], 'unreachable')), {started: 10, counts: {ok: 7, unreachable: 3}});
});

test('percentages: --batch 20% --max-failures 10% of 10 hosts, two failures', t => {
	t.deepEqual(simulate({parallel: 32, batch: percent(20), maxFailures: percent(10)}, web(['web03', 'web04'])), {
		started: 5,
		counts: {ok: 3, failed: 2, skipped: 5},
		events: [
			'start web01 web02',
			'web01 ok',
			'start web03',
			'web02 ok',
			'start web04',
			'web03 failed',
			'start web05',
			'web04 failed',
			'stop: 2 failures, over --max-failures 1',
			'web05 ok',
		],
	});
});

test('--canary 2 --batch 20%: approved, every host runs two at a time', t => {
	const result = simulate({parallel: 32, batch: percent(20), canary: 2}, web([]));
	t.deepEqual(result.counts, {ok: 10});
	t.deepEqual(result.events.slice(0, 5), ['start web01 web02', 'web01 ok', 'web02 ok', 'canary approved', 'start web03 web04']);
});

test('--canary 2: refused, the other eight are skipped', t => {
	t.deepEqual(simulate({parallel: 32, batch: percent(20), canary: 2}, web([]), 'refused'), {
		started: 2,
		counts: {ok: 2, skipped: 8},
		events: ['start web01 web02', 'web01 ok', 'web02 ok', 'canary refused', 'stop: the canary was not approved'],
	});
});

test('--canary 2 with a failure: stopped without asking', t => {
	t.deepEqual(simulate({parallel: 32, batch: percent(20), canary: 2}, web(['web02'])), {
		started: 2,
		counts: {ok: 1, failed: 1, skipped: 8},
		events: ['start web01 web02', 'web01 ok', 'web02 failed', 'stop: 1 of 2 canary hosts were not ok'],
	});
});
