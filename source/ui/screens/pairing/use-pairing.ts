/**
 * The pairing screen's keys, and its link to the core: it opens the pairing listener through
 * the ConsoleCore port while the screen is mounted (the console keeps it mounted, hidden, when
 * the operator leaves with `l`), and closes it when the screen goes away.
 */
import {useEffect, useRef, type Dispatch} from 'react';
import type {ConsoleCore, PairingHandle} from '../../core.js';
import {useKeys} from '../../keys.js';
import type {PairingAction, PairingScreenState} from './use-pairing-state.js';

/** `onBack` (Esc): leave and close the listener; `onKeep` (l): leave, and the listener keeps listening. */
export function usePairing(state: PairingScreenState, dispatch: Dispatch<PairingAction>, core: ConsoleCore, {onBack, onKeep}: {onBack: () => void; onKeep?: () => void}, isActive: boolean): void {
	const handle = useRef<PairingHandle | undefined>(undefined);
	useEffect(() => {
		let closed = false;
		core.openPairing(event => {
			dispatch({type: 'event', event});
		}).then(opened => {
			if (closed) {
				void opened.close();
			} else {
				handle.current = opened;
			}
		}, (error: unknown) => {
			dispatch({type: 'failed', reason: (error as Error).message});
		});
		return () => {
			closed = true;
			void handle.current?.close();
		};
	}, [core, dispatch]);

	useKeys((input, key) => {
		const selected = state.requests[state.cursor];
		if (key.escape) {
			onBack();
		} else if (key.upArrow || input === 'k') {
			dispatch({type: 'move', delta: -1});
		} else if (key.downArrow || input === 'j') {
			dispatch({type: 'move', delta: 1});
		} else if (key.backspace || key.delete) {
			dispatch({type: 'erase'});
		} else if (key.return && selected && state.code.length < 6) {
			dispatch({type: 'incomplete'});
		} else if (key.return && selected && handle.current) {
			const agent = selected.agent;
			void handle.current.approve(agent, state.code).then(approval => {
				dispatch({type: 'approval', agent, approval});
			});
		} else if (input === 'l' && onKeep) {
			onKeep();
		} else if (input === 'x' && selected) {
			handle.current?.reject(selected.agent);
		} else if (/\d/.test(input)) {
			// The reducer keeps the digits: a pasted `123 456` is the code too.
			dispatch({type: 'type', text: input});
		}
	}, isActive);
}
