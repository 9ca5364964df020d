import test from 'ava';
import {Backoff, SyslogQueue} from '../../source/audit/syslog-queue.js';

test('what does not fit in memory is handed back, oldest first', t => {
	const queue = new SyslogQueue(2);
	t.deepEqual(queue.push('a'), []);
	t.deepEqual(queue.push('b'), []);
	t.deepEqual(queue.push('c'), ['a']);
	t.deepEqual(queue.waiting, ['b', 'c']);
});

test('a broken connection sends what was in flight again, first, in order', t => {
	const queue = new SyslogQueue(10);
	queue.prepend(['spooled']);
	queue.push('a');
	queue.push('b');
	t.is(queue.take(), 'spooled');
	t.is(queue.take(), 'a');
	queue.settle('spooled', 'sent');
	t.is(queue.take(), 'b');
	queue.settle('a', 'again');
	queue.resendInflight();
	t.deepEqual(queue.waiting, ['b', 'a']);
	t.is(queue.sent, 1);
	t.is(queue.pending, 2);
});

test('a message lost for good is counted by reason, and nothing is left to send', t => {
	const queue = new SyslogQueue(10);
	queue.push('a');
	queue.push('b');
	queue.take();
	queue.settle('a', 'lost');
	queue.count('too large for UDP', 1);
	queue.count('queue full', 2);
	t.deepEqual(queue.dropped, {'too large for UDP': 1, 'queue full': 2});
	t.is(queue.droppedTotal, 3);
	t.deepEqual(queue.takeAll(), ['b']);
	t.is(queue.pending, 0);
	t.is(queue.take(), undefined);
});

test('the reconnect delay doubles up to its maximum, and starts again after a success', t => {
	const backoff = new Backoff(250, 1000);
	t.deepEqual([backoff.next(), backoff.next(), backoff.next(), backoff.next()], [250, 500, 1000, 1000]);
	backoff.reset();
	t.is(backoff.next(), 250);
});
