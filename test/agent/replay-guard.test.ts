import test from 'ava';
import {ReplayGuard} from '../../agent/replay-guard.js';

const windowMs = 5 * 60 * 1000;
const noon = Date.UTC(2026, 0, 15, 12, 0, 0);

const refusals: Array<{title: string; timestamp: number; now: number; code: 'stale' | 'replayed'; reason: string}> = [
	{title: 'a message one millisecond too old', timestamp: noon - windowMs - 1, now: noon, code: 'stale', reason: 'message timestamp is 300 s away from the agent\'s clock (window ±300 s)'},
	{title: 'a message an hour old', timestamp: noon - (60 * 60 * 1000), now: noon, code: 'stale', reason: 'message timestamp is 3600 s away from the agent\'s clock (window ±300 s)'},
	{title: 'a message from the future', timestamp: noon + (10 * 60 * 1000), now: noon, code: 'stale', reason: 'message timestamp is -600 s away from the agent\'s clock (window ±300 s)'},
	{title: 'a message from the epoch', timestamp: 0, now: noon, code: 'stale', reason: `message timestamp is ${Math.round(noon / 1000)} s away from the agent's clock (window ±300 s)`},
];

for (const c of refusals) {
	test(`refuses ${c.title}`, t => {
		t.deepEqual(new ReplayGuard(windowMs).check('msg-0001abcd', c.timestamp, c.now), {ok: false, code: c.code, reason: c.reason});
	});
}

test('accepts timestamps at both edges of the window', t => {
	const guard = new ReplayGuard(windowMs);
	t.deepEqual(guard.check('msg-past', noon - windowMs, noon), {ok: true});
	t.deepEqual(guard.check('msg-future', noon + windowMs, noon), {ok: true});
});

test('refuses a message id it has seen, even with a new timestamp', t => {
	const guard = new ReplayGuard(windowMs);
	t.deepEqual(guard.check('msg-0001abcd', noon, noon), {ok: true});
	t.deepEqual(guard.check('msg-0001abcd', noon, noon + 1), {ok: false, code: 'replayed', reason: 'message msg-0001abcd was already received'});
	t.deepEqual(guard.check('msg-0001abcd', noon + 1000, noon + 1000), {ok: false, code: 'replayed', reason: 'message msg-0001abcd was already received'});
	t.deepEqual(guard.check('msg-0002abcd', noon, noon + 1000), {ok: true});
});

test('a refused stale message is not remembered', t => {
	const guard = new ReplayGuard(windowMs);
	t.false(guard.check('msg-0001abcd', noon - windowMs - 1, noon).ok);
	t.deepEqual(guard.check('msg-0001abcd', noon, noon), {ok: true});
});

test('remembers a message for as long as its timestamp stays in the window', t => {
	// Received as early as it can be (its timestamp a whole window ahead), replayed as late as its
	// timestamp still passes (a whole window behind): the id must still be known.
	const guard = new ReplayGuard(windowMs);
	const timestamp = noon + windowMs;
	t.deepEqual(guard.check('msg-0001abcd', timestamp, noon), {ok: true});
	t.deepEqual(guard.check('msg-0001abcd', timestamp, timestamp + windowMs), {ok: false, code: 'replayed', reason: 'message msg-0001abcd was already received'});
	t.deepEqual(guard.check('msg-0001abcd', timestamp, timestamp + windowMs + 1), {ok: false, code: 'stale', reason: 'message timestamp is 300 s away from the agent\'s clock (window ±300 s)'});
});

test('forgets ids once their timestamps can no longer pass', t => {
	const guard = new ReplayGuard(windowMs, 2);
	t.deepEqual(guard.check('msg-0001abcd', noon, noon), {ok: true});
	t.deepEqual(guard.check('msg-0002abcd', noon, noon), {ok: true});
	// Two windows later both are forgotten: remembering them would only fill the table.
	const later = noon + (2 * windowMs) + 1;
	t.deepEqual(guard.check('msg-0003abcd', later, later), {ok: true});
	t.deepEqual(guard.check('msg-0004abcd', later, later), {ok: true});
	t.deepEqual(guard.check('msg-0003abcd', later, later), {ok: false, code: 'replayed', reason: 'message msg-0003abcd was already received'});
	t.deepEqual(guard.check('msg-0004abcd', later, later), {ok: false, code: 'replayed', reason: 'message msg-0004abcd was already received'});
});

test('with a memory: each accepted id is written before it is accepted; one that cannot be written is refused (busy), not accepted unremembered', t => {
	const written: Array<[string, number]> = [];
	let full = false;
	const guard = new ReplayGuard(windowMs, undefined, {remember(id, seenAt) {
		if (full) {
			throw Object.assign(new Error('no space'), {code: 'ENOSPC'});
		}

		written.push([id, seenAt]);
	}});
	t.deepEqual(guard.check('msg-0001abcd', noon, noon), {ok: true});
	t.deepEqual(written, [['msg-0001abcd', noon]]);
	t.like(guard.check('msg-0001abcd', noon, noon + 1), {ok: false, code: 'replayed'});
	t.is(written.length, 1, 'a refused id is not written again');
	full = true;
	t.deepEqual(guard.check('msg-0002abcd', noon, noon + 2), {ok: false, code: 'busy', reason: 'the agent cannot remember message msg-0002abcd to refuse its replay (ENOSPC); try again'});
	full = false;
	t.deepEqual(guard.check('msg-0002abcd', noon, noon + 3), {ok: true}, 'the refused message was not remembered: it may be sent again');
});

test('restore: ids remembered before a restart are refused again while within twice the window; older ones are forgotten', t => {
	const guard = new ReplayGuard(windowMs);
	guard.restore([['msg-old', noon - (2 * windowMs) - 1], ['msg-recent', noon - windowMs]], noon);
	t.deepEqual(guard.entries(noon), [['msg-recent', noon - windowMs]]);
	t.like(guard.check('msg-recent', noon, noon), {ok: false, code: 'replayed'});
	t.deepEqual(guard.check('msg-old', noon, noon), {ok: true});
});
