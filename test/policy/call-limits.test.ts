/** Per-token call limits: concurrent calls, calls per minute (a sliding 60 s), each token on its own counters. */
import test from 'ava';
import {admitCall, createCallLimiter, defaultCallLimits, endCall, parseCallLimits, type CallLedger} from '../../source/policy/call-limits.js';

const bot = {id: 'a1', name: 'triage-bot'};
const other = {id: 'b2', name: 'other-bot'};

test('concurrent calls: the limit holds while calls run, and frees as they end', async t => {
	const limiter = createCallLimiter({maxConcurrentCalls: 2, callsPerMinute: 100, maxOutputBytes: 4096}, () => 0);
	const first = await limiter.admit(bot);
	const second = await limiter.admit(bot);
	t.true(first.ok && second.ok);
	t.deepEqual(await limiter.admit(bot), {ok: false, reason: 'token triage-bot already has 2 calls running, its limit (maxConcurrentCalls 2); wait for one to end'});
	t.true((await limiter.admit(other)).ok, 'another token has its own counters');
	if (first.ok) {
		await first.done();
		await first.done();
	}

	t.true((await limiter.admit(bot)).ok);
	t.false((await limiter.admit(bot)).ok, 'ending a call twice frees one slot only');
});

test('calls per minute: a sliding window of 60 seconds', async t => {
	let now = 1_000_000;
	const limiter = createCallLimiter({maxConcurrentCalls: 100, callsPerMinute: 2, maxOutputBytes: 4096}, () => now);
	t.true((await limiter.admit(bot)).ok);
	now += 30_000;
	t.true((await limiter.admit(bot)).ok);
	now += 10_000;
	t.deepEqual(await limiter.admit(bot), {ok: false, reason: 'token triage-bot made 2 calls in the last minute, its limit (callsPerMinute 2); call again in 20 s'});
	now += 20_000;
	t.true((await limiter.admit(bot)).ok, 'the first call left the window');
});

test('admitCall: calls held by a process that is gone no longer count; live ones do', t => {
	const limits = {maxConcurrentCalls: 2, callsPerMinute: 100, maxOutputBytes: 4096};
	const ledger: CallLedger = {version: 1, tokens: {a1: {running: [{call: 'c1', holder: '10:5'}, {call: 'c2', holder: '11:5'}], started: [0, 1]}}};
	const bothAlive = admitCall(ledger, limits, 2, bot, {call: 'c3', holder: '12:5'}, () => true);
	t.is(bothAlive.refusal, 'token triage-bot already has 2 calls running, its limit (maxConcurrentCalls 2); wait for one to end');
	t.deepEqual(bothAlive.ledger, ledger);
	const oneGone = admitCall(ledger, limits, 2, bot, {call: 'c3', holder: '12:5'}, holder => holder !== '10:5');
	t.is(oneGone.refusal, undefined);
	t.deepEqual(oneGone.ledger.tokens['a1'], {running: [{call: 'c2', holder: '11:5'}, {call: 'c3', holder: '12:5'}], started: [0, 1, 2]});
	t.deepEqual(endCall(oneGone.ledger, 'a1', 'c2').tokens['a1']!.running, [{call: 'c3', holder: '12:5'}]);
	t.is(endCall(oneGone.ledger, 'zz', 'c2'), oneGone.ledger, 'a token with no calls: unchanged');
});

test('admitCall: a call that takes no slot is admitted past the concurrent limit, and counts per minute', t => {
	const limits = {maxConcurrentCalls: 1, callsPerMinute: 2, maxOutputBytes: 4096};
	const ledger: CallLedger = {version: 1, tokens: {a1: {running: [{call: 'c1', holder: 'h'}], started: [0]}}};
	const cancel = admitCall(ledger, limits, 1, bot, {call: 'c2', holder: 'h', slot: false}, () => true);
	t.is(cancel.refusal, undefined);
	t.deepEqual(cancel.ledger.tokens['a1'], {running: [{call: 'c1', holder: 'h'}], started: [0, 1]});
	t.is(admitCall(cancel.ledger, limits, 2, bot, {call: 'c3', holder: 'h', slot: false}, () => true).refusal, 'token triage-bot made 2 calls in the last minute, its limit (callsPerMinute 2); call again in 60 s');
});

test('admitCall: another token\'s calls and a token of the same name with another id are counted apart', t => {
	const limits = {maxConcurrentCalls: 1, callsPerMinute: 100, maxOutputBytes: 4096};
	const ledger: CallLedger = {version: 1, tokens: {a1: {running: [{call: 'c1', holder: 'h'}], started: [0]}}};
	t.is(admitCall(ledger, limits, 1, other, {call: 'c2', holder: 'h'}, () => true).refusal, undefined);
	t.is(admitCall(ledger, limits, 1, {id: 'a2', name: 'triage-bot'}, {call: 'c2', holder: 'h'}, () => true).refusal, undefined);
});

const settings: Array<[unknown, unknown]> = [
	[undefined, defaultCallLimits],
	[{}, defaultCallLimits],
	[{maxConcurrentCalls: 2, callsPerMinute: 10, maxOutputBytes: 8192}, {maxConcurrentCalls: 2, callsPerMinute: 10, maxOutputBytes: 8192}],
	[{maxConcurrentCalls: 0}, '"mcp.maxConcurrentCalls" must be a whole number from 1 to 1024; got 0'],
	[{callsPerMinute: '10'}, '"mcp.callsPerMinute" must be a whole number from 1 to 100000; got "10"'],
	[{maxOutputBytes: 100}, '"mcp.maxOutputBytes" must be a whole number from 1024 to 67108864; got 100'],
	[[], '"mcp" must be an object'],
];

for (const [value, expected] of settings) {
	test(`parseCallLimits ${JSON.stringify(value)}`, t => {
		t.deepEqual(parseCallLimits(value), expected);
	});
}
