/**
 * One clock for everything that moves on its own: spinners and a run's live output. Each tick
 * first lets the screens hand over what they queued (a run's events), then advances the
 * spinners, in one task: React renders it as one frame. Ink redraws the whole frame on each
 * change (about 2 KB at 80×24, 10 KB at 200×50), so a frame per tick instead of one per spinner
 * step (ink-spinner: 12 a second per spinner) and per output chunk bounds what a 40-host run
 * writes to the terminal. Keys are not held back: a key's frame goes out at once.
 */
import {Text} from 'ink';
import {createContext, useContext, useEffect, useLayoutEffect, useRef, useState, type ReactNode} from 'react';

/** Four frames a second while something moves. */
export const tickMs = 250;

type Listeners = Set<{current: () => void}>;

const TickContext = createContext(0);
/** Stable for the console's life: subscribing does not follow the ticks. */
const ListenersContext = createContext<Listeners | undefined>(undefined);

export function FrameClock({intervalMs = tickMs, children}: {intervalMs?: number; children: ReactNode}) {
	const listeners = useRef<Listeners>(new Set()).current;
	const [tick, setTick] = useState(0);
	useEffect(() => {
		const timer = setInterval(() => {
			for (const listener of listeners) {
				listener.current();
			}

			setTick(count => count + 1);
		}, intervalMs);
		return () => {
			clearInterval(timer);
		};
	}, [intervalMs, listeners]);
	return (
		<ListenersContext.Provider value={listeners}>
			<TickContext.Provider value={tick}>{children}</TickContext.Provider>
		</ListenersContext.Provider>
	);
}

/** Calls `onTick` on every tick of the console's clock (never, outside a FrameClock). */
export function useOnTick(onTick: () => void): void {
	const listeners = useContext(ListenersContext);
	const listener = useRef(onTick);
	useLayoutEffect(() => {
		listener.current = onTick;
	});
	useEffect(() => {
		listeners?.add(listener);
		return () => {
			listeners?.delete(listener);
		};
	}, [listeners]);
}

const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** A spinner that moves with the console's clock (still outside one, as in a frame test). */
export function Spinner() {
	return <Text>{frames[useContext(TickContext) % frames.length]}</Text>;
}

/**
 * Items (a run's events) handed over in batches: the first after a quiet tick at once (first
 * output is not delayed), the rest on the clock's next tick, all in one frame. An item `urgent`
 * calls so (a run's first output, its first host's result) goes at once with everything queued
 * before it, in order, whatever the tick: what the operator waits for is not held back by up to a
 * tick, and a run adds at most a frame or two to the clock's.
 */
export function useBatched<T>(deliver: (items: T[]) => void, urgent?: (item: T) => boolean): (item: T) => void {
	const queue = useRef<T[]>([]);
	const deliveredThisTick = useRef(false);
	const target = useRef({deliver, urgent});
	useLayoutEffect(() => {
		target.current = {deliver, urgent};
	});
	const clocked = useContext(ListenersContext) !== undefined;
	const flush = (...last: T[]) => {
		const items = [...queue.current, ...last];
		queue.current = [];
		deliveredThisTick.current = true;
		target.current.deliver(items);
	};

	useOnTick(() => {
		deliveredThisTick.current = false;
		if (queue.current.length > 0) {
			flush();
		}
	});
	return useRef((item: T) => {
		// Asked of every item, in order (a stateful `urgent` sees them all).
		const urgent = target.current.urgent?.(item) === true;
		if (!clocked || urgent || (!deliveredThisTick.current && queue.current.length === 0)) {
			flush(item);
		} else {
			queue.current.push(item);
		}
	}).current;
}
