import test from 'ava';
import {createRefusalLimiter} from '../../source/audit/refusal-limiter.js';

const at = (seconds: number) => new Date(Date.UTC(2026, 0, 14, 10, 0, seconds));

test('per source: the first refusal of a minute is recorded, the rest become one counted summary when the minute ends', t => {
	const limiter = createRefusalLimiter(60_000);
	t.true(limiter.admit('10.0.0.1', 'garbage', at(0)));
	t.false(limiter.admit('10.0.0.1', 'garbage', at(1)));
	t.false(limiter.admit('10.0.0.1', 'timeout', at(30)));
	// Another source has its own window.
	t.true(limiter.admit('10.0.0.2', 'garbage', at(30)));
	t.deepEqual(limiter.due(at(59)), [], 'nothing is due before the minute ends');
	t.deepEqual(limiter.due(at(60)), [{source: '10.0.0.1', count: 2, from: at(1).toISOString(), to: at(30).toISOString(), lastReason: 'timeout'}]);
	t.deepEqual(limiter.due(at(61)), [], 'a summary is given once');
	// 10.0.0.2 had nothing suppressed: its window ends without a summary.
	t.deepEqual(limiter.due(at(95)), []);
});

test('a refusal after the window starts a new one (and keeps the old summary until it is taken); drain takes everything', t => {
	const limiter = createRefusalLimiter(60_000);
	t.true(limiter.admit('10.0.0.1', 'a', at(0)));
	t.false(limiter.admit('10.0.0.1', 'b', at(10)));
	t.true(limiter.admit('10.0.0.1', 'c', at(70)));
	t.false(limiter.admit('10.0.0.1', 'd', at(71)));
	t.deepEqual(limiter.drain(), [
		{source: '10.0.0.1', count: 1, from: at(10).toISOString(), to: at(10).toISOString(), lastReason: 'b'},
		{source: '10.0.0.1', count: 1, from: at(71).toISOString(), to: at(71).toISOString(), lastReason: 'd'},
	]);
	t.deepEqual(limiter.drain(), []);
});

test('a flood from more sources than it tracks shares one window past the bound', t => {
	const limiter = createRefusalLimiter(60_000);
	let recorded = 0;
	for (let index = 0; index < 5000; index++) {
		recorded += limiter.admit(`10.1.${Math.floor(index / 256)}.${index % 256}`, 'garbage', at(0)) ? 1 : 0;
	}

	t.is(recorded, 4097);
	t.deepEqual(limiter.drain(), [{source: 'other sources', count: 903, from: at(0).toISOString(), to: at(0).toISOString(), lastReason: 'garbage'}]);
});
