/**
 * The planner decides from a tally kept as hosts finish (O(1) a decision), where it used to rescan
 * every finished host's status on each decision (O(n²) over a 10,000-host run). The old function is
 * kept here verbatim as the reference: on seeded random rollouts, finishing hosts in random order
 * with random outcomes and canary answers, both must make the same decision at every step.
 */
import test from 'ava';
import type {RunStatus} from '../../source/protocol/frames.js';
import {countsAsFailure, decide, emptyTally, nextDecision, planRollout, tallyFinished, type CanaryDecision, type Decision, type Progress, type Rollout, type RolloutOptions, type Tally} from '../../source/run/rollout.js';

/** The planner before the tally (source/run/rollout.ts at 289bc81), unchanged. */
function referenceDecision(rollout: Rollout, progress: Progress): Decision {
	const {started, finished} = progress;
	const running = started - finished.length;
	const failures = finished.filter(status => countsAsFailure(rollout, status)).length;
	if (finished.length === rollout.total) {
		return {type: 'done'};
	}

	if (rollout.maxFailures !== undefined && failures > rollout.maxFailures) {
		return started < rollout.total ? {type: 'stop', reason: `${failures} failures, over --max-failures ${rollout.maxFailures}`} : {type: 'wait'};
	}

	if (rollout.canary > 0 && progress.canary !== 'approved') {
		if (progress.canary === 'refused') {
			return {type: 'stop', reason: 'the canary was not approved'};
		}

		if (started < rollout.canary) {
			return startUpTo(Math.min(rollout.window - running, rollout.canary - started));
		}

		if (finished.length < rollout.canary) {
			return {type: 'wait'};
		}

		const canaryFailures = finished.slice(0, rollout.canary).filter(status => status !== 'ok').length;
		if (canaryFailures > 0) {
			return {type: 'stop', reason: `${canaryFailures} of ${rollout.canary} canary ${rollout.canary === 1 ? 'host was' : 'hosts were'} not ok`};
		}

		return rollout.canary === rollout.total ? {type: 'done'} : {type: 'ask-canary'};
	}

	if (started >= rollout.total) {
		return {type: 'wait'};
	}

	return startUpTo(Math.min(rollout.window - running, rollout.total - started));
}

function startUpTo(count: number): Decision {
	return count > 0 ? {type: 'start', count} : {type: 'wait'};
}

/** mulberry32: a small seeded generator, so a failing rollout can be replayed from its seed. */
function seeded(seed: number): (below: number) => number {
	let state = seed >>> 0;
	return below => {
		state = (state + 0x6D_2B_79_F5) >>> 0;
		let mixed = state;
		mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
		mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
		return Math.floor((((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296) * below);
	};
}

const statuses: RunStatus[] = ['ok', 'ok', 'ok', 'failed', 'timeout', 'denied', 'error', 'unreachable', 'cancelled', 'skipped'];

function randomOptions(random: (below: number) => number): RolloutOptions {
	const amount = (max: number) => (random(2) === 0 ? {value: random(max), percent: false} : {value: 1 + random(100), percent: true});
	return {
		parallel: 1 + random(12),
		...(random(2) === 0 ? {batch: amount(15)} : {}),
		...(random(2) === 0 ? {maxFailures: amount(6)} : {}),
		...(random(3) === 0 ? {canary: random(6)} : {}),
		...(random(3) === 0 ? {ignoreUnreachable: true} : {}),
	};
}

/**
 * Drives one rollout as the dispatcher does, asking both planners at every step: start what they
 * say, finish a random running host when they wait, answer the canary at random, and after a stop
 * let the running hosts finish. Returns the decisions made (the same for both, or it throws).
 */
function drive(seed: number): {rollout: Rollout; decisions: Decision[]} {
	const random = seeded(seed);
	const total = random(41);
	const rollout = planRollout(randomOptions(random), total);
	const finished: RunStatus[] = [];
	let tally: Tally = emptyTally;
	let started = 0;
	let running = 0;
	let canary: CanaryDecision = 'undecided';
	const decisions: Decision[] = [];
	const finishOne = () => {
		const status = statuses[random(statuses.length)]!;
		finished.push(status);
		tally = tallyFinished(rollout, tally, status);
		running--;
	};

	for (;;) {
		const expected = referenceDecision(rollout, {started, finished, canary});
		const actual = decide(rollout, {...tally, started, canary});
		const listed = nextDecision(rollout, {started, finished, canary});
		if (JSON.stringify(actual) !== JSON.stringify(expected) || JSON.stringify(listed) !== JSON.stringify(expected)) {
			throw new Error(`seed ${seed}, step ${decisions.length}: expected ${JSON.stringify(expected)}, decide gave ${JSON.stringify(actual)}, nextDecision ${JSON.stringify(listed)}`);
		}

		decisions.push(expected);
		if (expected.type === 'done') {
			return {rollout, decisions};
		}

		if (expected.type === 'stop') {
			while (running > 0) {
				finishOne();
			}

			return {rollout, decisions};
		}

		if (expected.type === 'start') {
			started += expected.count;
			running += expected.count;
		} else if (expected.type === 'ask-canary') {
			canary = random(2) === 0 ? 'approved' : 'refused';
		} else if (running > 0) {
			// Sometimes a host finishes even when the planner could start more: the dispatcher asks again after each finish.
			finishOne();
		} else {
			throw new Error(`seed ${seed}: the planner waits with nothing running`);
		}

		if (expected.type === 'start' && running > 0 && random(3) === 0) {
			finishOne();
		}
	}
}

test('the tally makes the same decision as a rescan of every finished host, on 3,000 seeded random rollouts', t => {
	const kinds = new Map<string, number>();
	for (let seed = 1; seed <= 3000; seed++) {
		for (const decision of drive(seed).decisions) {
			const kind = decision.type === 'stop' ? `stop: ${decision.reason.replace(/\d+/g, 'N')}` : decision.type;
			kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
		}
	}

	// The random rollouts reach every kind of decision, so the comparison covers each branch.
	t.deepEqual([...kinds.keys()].sort(), [
		'ask-canary',
		'done',
		'start',
		'stop: N failures, over --max-failures N',
		'stop: N of N canary host was not ok',
		'stop: N of N canary hosts were not ok',
		'stop: the canary was not approved',
		'wait',
	]);
});

test('a tally counts failures as the rollout does, and only the first canary hosts to finish for the canary', t => {
	const rollout = planRollout({parallel: 5, canary: 2, ignoreUnreachable: true}, 10);
	const tally = (['ok', 'unreachable', 'failed', 'timeout'] as RunStatus[]).reduce((sum, status) => tallyFinished(rollout, sum, status), emptyTally);
	t.deepEqual(tally, {finished: 4, failures: 2, canaryNotOk: 1});
});
