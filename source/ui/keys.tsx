/**
 * Keys for the screens, routed by the console itself. Ink's `useInput` subscribes in a passive
 * effect, which runs after the frame is on screen (20–40 ms later, measured here): a key typed
 * in that window was lost by a screen just shown, or handled by the screen just left with the
 * state before it (`/` then `w` quickly lost the `w`; a second Enter on the confirmation started
 * a second run). Here one `useInput` lives as long as the console, and each screen registers its
 * handler (and whether it is active) in a layout effect: in the same commit that draws its frame.
 */
import {useInput, type Key} from 'ink';
import {createContext, useContext, useLayoutEffect, useRef, type ReactNode} from 'react';

export type KeyHandler = (input: string, key: Key) => void;

type Registration = {current: {handler: KeyHandler; isActive: boolean}};

const Registered = createContext<Set<Registration> | undefined>(undefined);

export function KeysProvider({children}: {children: ReactNode}) {
	const registered = useRef(new Set<Registration>()).current;
	useInput((input, key) => {
		for (const registration of [...registered]) {
			if (registration.current.isActive) {
				registration.current.handler(input, key);
			}
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
		registration.current.handler(input, key);
	}, {isActive: registered === undefined && isActive});
}
