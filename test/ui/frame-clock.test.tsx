import test from 'ava';
import {Text} from 'ink';
import {render} from 'ink-testing-library';
import {useEffect, useState} from 'react';
import {FrameClock, Spinner, useBatched} from '../../source/ui/frame-clock.js';
import {until} from './helpers/frames.js';

/** Pushes `count` items at once, then `count` more once the first were shown; shows the batches it was handed. */
function Pusher({count}: {count: number}) {
	const [batches, setBatches] = useState<number[][]>([]);
	const push = useBatched<number>(items => {
		setBatches(previous => [...previous, items]);
	});
	useEffect(() => {
		for (let item = 0; item < count; item++) {
			push(item);
		}
	}, [count, push]);
	return <Text>{JSON.stringify(batches)}</Text>;
}

test('frame clock: the first item after a quiet tick goes at once, the rest together on the next tick', async t => {
	const {lastFrame, unmount} = render(<FrameClock intervalMs={30}><Pusher count={5}/></FrameClock>);
	await until(() => lastFrame() === '[[0],[1,2,3,4]]');
	t.is(lastFrame(), '[[0],[1,2,3,4]]');
	unmount();
});

test('frame clock: outside a clock (a screen on its own) every item goes at once', async t => {
	const {lastFrame, unmount} = render(<Pusher count={3}/>);
	await until(() => lastFrame() !== '[]');
	t.is(lastFrame(), '[[0],[1],[2]]');
	unmount();
});

test('frame clock: spinners move with the clock, and stand still outside one', async t => {
	const still = render(<Spinner/>);
	t.is(still.lastFrame(), '⠋');
	still.unmount();
	const {lastFrame, unmount} = render(<FrameClock intervalMs={20}><Spinner/></FrameClock>);
	await until(() => lastFrame() !== '⠋');
	t.not(lastFrame(), '⠋');
	unmount();
});

/** Pushes 0..count-1 at once, the odd ones marked urgent; shows the batches it was handed. */
function UrgentPusher({count, urgent}: {count: number; urgent: (item: number) => boolean}) {
	const [batches, setBatches] = useState<number[][]>([]);
	const push = useBatched<number>(items => {
		setBatches(previous => [...previous, items]);
	}, urgent);
	useEffect(() => {
		for (let item = 0; item < count; item++) {
			push(item);
		}
	}, [count, push]);
	return <Text>{JSON.stringify(batches)}</Text>;
}

test('frame clock: an urgent item goes at once with what was queued before it, in order; the rest waits for the tick', async t => {
	// A clock that never ticks during the test: only the quiet first item and the urgent ones can be shown.
	const {lastFrame, unmount} = render(<FrameClock intervalMs={60_000}><UrgentPusher count={6} urgent={item => item === 3}/></FrameClock>);
	await until(() => lastFrame() === '[[0],[1,2,3]]');
	t.is(lastFrame(), '[[0],[1,2,3]]');
	unmount();
});
