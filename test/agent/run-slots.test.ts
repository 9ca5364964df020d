import test from 'ava';
import {RunSlots} from '../../agent/run-slots.js';
import {stopReasons} from '../../agent/stop-reasons.js';

const never = () => new AbortController().signal;

async function slot(slots: RunSlots, signal = never()): Promise<() => void> {
	const release = await slots.acquire(signal);
	if (typeof release === 'string') {
		throw new TypeError(`expected a slot, got: ${release}`);
	}

	return release;
}

/** Whether a promise has settled, after letting pending callbacks run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
	let done = false;
	void promise.then(() => {
		done = true;
	});
	await new Promise(resolve => setImmediate(resolve));
	return done;
}

test('gives slots at once up to the limit', async t => {
	const slots = new RunSlots(2, 0);
	await slot(slots);
	await slot(slots);
	t.is(slots.running, 2);
});

test('refuses at once when the queue is full, saying why', async t => {
	const slots = new RunSlots(2, 1);
	await slot(slots);
	await slot(slots);
	const queued = slots.acquire(never());
	t.is(await slots.acquire(never()), 'agent busy: 2 runs in progress and 1 queued (limits 2 and 1)');
	t.false(await settled(queued));
});

test('refuses at once with no queue at all', async t => {
	const slots = new RunSlots(1, 0);
	await slot(slots);
	t.is(await slots.acquire(never()), 'agent busy: 1 runs in progress and 0 queued (limits 1 and 0)');
});

test('a release wakes the longest-waiting run', async t => {
	const slots = new RunSlots(1, 2);
	const release = await slot(slots);
	const first = slots.acquire(never());
	const second = slots.acquire(never());
	t.false(await settled(first));
	release();
	t.true(await settled(first));
	t.false(await settled(second));
	t.is(slots.running, 1);
	const next = await first;
	t.is(typeof next, 'function');
	(next as () => void)();
	t.true(await settled(second));
});

test('releasing twice frees one slot only', async t => {
	const slots = new RunSlots(2, 0);
	const release = await slot(slots);
	await slot(slots);
	release();
	release();
	t.is(slots.running, 1);
});

test('a run cancelled while queued leaves the queue', async t => {
	const slots = new RunSlots(1, 1);
	const release = await slot(slots);
	const controller = new AbortController();
	const queued = slots.acquire(controller.signal);
	controller.abort();
	t.is(await queued, 'cancelled by the controller while queued; nothing ran');
	// Its place in the queue is free again, and a release does not hand it a slot.
	const next = slots.acquire(never());
	release();
	t.is(typeof await next, 'function');
	t.is(slots.running, 1);
});

test('a run already cancelled does not wait for a slot', async t => {
	const slots = new RunSlots(1, 1);
	const release = await slot(slots);
	const controller = new AbortController();
	controller.abort();
	t.is(await slots.acquire(controller.signal), 'cancelled by the controller before it started; nothing ran');
	// It took neither a place in the queue nor, later, a slot.
	const next = slots.acquire(never());
	t.false(await settled(next));
	release();
	t.is(typeof await next, 'function');
	t.is(slots.running, 1);
});

test('an abort after the slot was given changes nothing', async t => {
	const slots = new RunSlots(1, 1);
	const release = await slot(slots);
	const controller = new AbortController();
	const queued = slots.acquire(controller.signal);
	release();
	const second = await queued;
	controller.abort();
	t.is(typeof second, 'function');
	t.is(slots.running, 1);
});

// A run the agent's stop aborted (in its hook, or admitted during the stop) took a free slot and started.
test('a run already stopped gets no slot even when one is free, and the reason is not a cancel', async t => {
	const slots = new RunSlots(2, 1);
	const controller = new AbortController();
	controller.abort(stopReasons.agentStopping);
	t.is(await slots.acquire(controller.signal), 'stopped before it started: the agent is shutting down (not a cancel); nothing ran');
	t.is(slots.running, 0);
});

test('a queued run the agent\'s stop aborts is not reported as cancelled by the controller', async t => {
	const slots = new RunSlots(1, 1);
	await slot(slots);
	const controller = new AbortController();
	const queued = slots.acquire(controller.signal);
	controller.abort(stopReasons.agentStopping);
	t.is(await queued, 'stopped while queued: the agent is shutting down (not a cancel); nothing ran');
});
