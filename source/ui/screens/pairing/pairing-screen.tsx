/** The pairing screen as the console shell places it: its state, its keys, and the count of requests waiting told out. */
import {useEffect} from 'react';
import type {ConsoleCore} from '../../core.js';
import {Pairing} from './pairing.js';
import {usePairing} from './use-pairing.js';
import {usePairingState} from './use-pairing-state.js';

export function PairingScreen({core, height, isActive, onBack, onKeep, onPending}: {core: ConsoleCore; height: number; isActive: boolean; onBack: () => void; onKeep: () => void; onPending: (pending: number) => void}) {
	const [state, dispatch] = usePairingState();
	usePairing(state, dispatch, core, {onBack, onKeep}, isActive);
	const pending = state.requests.length;
	useEffect(() => {
		onPending(pending);
	}, [onPending, pending]);
	return <Pairing state={state} height={height}/>;
}
