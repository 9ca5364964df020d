/**
 * Keys for the screens, routed by the console itself. Ink's `useInput` subscribes in a passive
 * effect, which runs after the frame is on screen (20–40 ms later, measured here): a key typed
 * in that window was lost by a screen just shown, or handled by the screen just left with the
 * state before it (`/` then `w` quickly lost the `w`; a second Enter on the confirmation started
 * a second run). Here one `useInput` lives as long as the console, and each screen registers its
 * handler (and whether it is active) in a layout effect: in the same commit that draws its frame.
 *
 * A read may hold many keys (key-stream.ts splits it). They are queued and handled one at a time:
 * the next key goes once the commit of what the previous one changed has run its layout effects
 * (measured: waiting a turn of the event loop is not enough, `/s` lost its `s`), so it finds the
 * handlers and state of the screen the previous key led to.
 */
import {useInput, type Key} from 'ink';
import {createContext, useCallback, useContext, useLayoutEffect, useRef, useState, type ReactNode} from 'react';
import {splitKeys, type KeyPress} from './key-stream.js';

export type KeyHandler = (input: string, key: Key) => void;

type Registration = {current: {handler: KeyHandler; isActive: boolean}};

const Registered = createContext<Set<Registration> | undefined>(undefined);

export function KeysProvider({children}: {children: ReactNode}) {
	const registered = useRef(new Set<Registration>()).current;
	const queue = useRef<KeyPress[]>([]).current;
	// Counts the keys handled: each one's commit (the layout effect below) lets the next key go.
	const [handled, setHandled] = useState(0);
	const busy = useRef(false);
	const handleNext = useCallback(() => {
		const press = queue.shift();
		if (!press) {
			busy.current = false;
			return;
		}

		busy.current = true;
		for (const registration of [...registered]) {
			if (registration.current.isActive) {
				registration.current.handler(press.input, press.key);
			}
		}

		setHandled(count => count + 1);
	}, [queue, registered]);
	useLayoutEffect(() => {
		if (handled > 0) {
			// On a turn of its own: a long paste is not one long chain of nested updates.
			setImmediate(handleNext);
		}
	}, [handled, handleNext]);
	useInput((input, key) => {
		queue.push(...splitKeys(input, key));
		if (!busy.current) {
			busy.current = true;
			setImmediate(handleNext);
		}
	});
	return <Registered.Provider value={registered}>{children}</Registered.Provider>;
}

/** A screen's keys; outside a KeysProvider (a screen rendered on its own) Ink's `useInput` serves. */
export function useKeys(handler: KeyHandler, isActive = true): void {
	const registered = useContext(Registered);
	const registration = useRef({handler, isActive});
	useLayoutEffect(() => {
		registration.current = {handler, isActive};
	});
	useLayoutEffect(() => {
		registered?.add(registration);
		return () => {
			registered?.delete(registration);
		};
	}, [registered]);
	useInput((input, key) => {
		for (const press of splitKeys(input, key)) {
			registration.current.handler(press.input, press.key);
		}
	}, {isActive: registered === undefined && isActive});
}
