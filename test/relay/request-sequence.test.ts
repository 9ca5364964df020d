/** Request envelope sequences: increasing within a process, and a later process starts above an earlier one's numbers. */
import test from 'ava';
import {RequestGuard} from '../../agent/relay-guard.js';
import {ReplayGuard} from '../../agent/replay-guard.js';
import {limits} from '../../source/protocol/frames.js';
import {requestSequence} from '../../source/relay/request-sequence.js';

test('within one process every number is above the last, even when the clock stands still or steps back', t => {
	let clock = 1_765_000_000_000;
	const next = requestSequence(() => clock);
	const first = next();
	t.is(first, clock * 1000);
	t.is(next(), first + 1);
	clock -= 5000;
	t.is(next(), first + 2);
	clock += 10_000;
	t.is(next(), clock * 1000);
});

test('a second process a millisecond later starts above the first one\'s numbers (the cross-process cancel)', t => {
	const run = requestSequence(() => 1_765_000_000_000);
	const cancel = requestSequence(() => 1_765_000_000_001);
	const runSeq = run();
	t.true(cancel() > runSeq);
	t.true(Number.isSafeInteger(requestSequence(() => Date.UTC(2255, 0, 1))()));
});

test('after a restart the agent still refuses a clock-based sequence at or below the highest it accepted', t => {
	const now = 1_765_000_000_000;
	const remembered: Array<[string, number]> = [];
	const first = new RequestGuard(new ReplayGuard(limits.clockSkewMs, undefined, {remember: (id, at) => remembered.push([id, at])}));
	const request = (seq: number, nonce: string) => ({id: 'relay-seq-00001', seq, nonce, iat: now, exp: now + 60_000});
	const seq = requestSequence(() => now)();
	t.deepEqual(first.check(request(seq, 'a'.repeat(32)), now), {ok: true});
	const seen = new ReplayGuard(limits.clockSkewMs);
	seen.restore(remembered, now);
	const restarted = new RequestGuard(seen);
	restarted.restore(now);
	t.like(restarted.check(request(seq, 'b'.repeat(32)), now), {ok: false, code: 'replayed', reason: `request relay-seq-00001 frame ${seq} arrived after frame ${seq}: replayed or reordered`});
	t.deepEqual(restarted.check(request(seq + 1000, 'c'.repeat(32)), now), {ok: true});
});
