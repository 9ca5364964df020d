/** Per-token call limits: concurrent calls, calls per minute (a sliding 60 s), each token on its own counters. */
import test from 'ava';
import {createCallLimiter, defaultCallLimits, parseCallLimits} from '../../source/policy/call-limits.js';

const bot = {id: 'a1', name: 'triage-bot'};
const other = {id: 'b2', name: 'other-bot'};

test('concurrent calls: the limit holds while calls run, and frees as they end', t => {
	const limiter = createCallLimiter({maxConcurrentCalls: 2, callsPerMinute: 100, maxOutputBytes: 4096}, () => 0);
	const first = limiter.admit(bot);
	const second = limiter.admit(bot);
	t.true(first.ok && second.ok);
	t.deepEqual(limiter.admit(bot), {ok: false, reason: 'token triage-bot already has 2 calls running, its limit (maxConcurrentCalls 2); wait for one to end'});
	t.true(limiter.admit(other).ok, 'another token has its own counters');
	if (first.ok) {
		first.done();
		first.done();
	}

	t.true(limiter.admit(bot).ok);
	t.false(limiter.admit(bot).ok, 'ending a call twice frees one slot only');
});

test('calls per minute: a sliding window of 60 seconds', t => {
	let now = 1_000_000;
	const limiter = createCallLimiter({maxConcurrentCalls: 100, callsPerMinute: 2, maxOutputBytes: 4096}, () => now);
	t.true(limiter.admit(bot).ok);
	now += 30_000;
	t.true(limiter.admit(bot).ok);
	now += 10_000;
	t.deepEqual(limiter.admit(bot), {ok: false, reason: 'token triage-bot made 2 calls in the last minute, its limit (callsPerMinute 2); call again in 20 s'});
	now += 20_000;
	t.true(limiter.admit(bot).ok, 'the first call left the window');
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
