/** The fleet screen's keys. */
import type {Dispatch} from 'react';
import {useKeys} from '../../keys.js';
import {moveDelta} from '../../move-delta.js';
import type {FleetAction, FleetState} from './use-fleet-state.js';

export type FleetKeyHandlers = {
	onOpen: () => void;
	onRun: () => void;
	onPair: () => void;
	onRefresh: () => void;
	onAudit: () => void;
	onHistory: () => void;
	onHelp: () => void;
	onQuit: () => void;
};

export function useFleet(state: FleetState, dispatch: Dispatch<FleetAction>, handlers: FleetKeyHandlers, isActive: boolean): void {
	useKeys((input, key) => {
		if (state.editingFilter) {
			if (key.return || key.escape) {
				dispatch({type: key.escape && state.filter === '' ? 'filter-clear' : 'filter-done'});
			} else if (key.backspace || key.delete) {
				dispatch({type: 'filter-erase'});
			} else if (!key.ctrl && !key.meta && input.length > 0) {
				// One chunk can hold several keys (a paste, or typing over a slow link): `role=web\r`
				// types its text, then Enter ends the filter, as the keys one by one would have.
				const text = input.replace(/[\u0000-\u001F]/g, '');
				if (text.length > 0) {
					dispatch({type: 'filter-type', text});
				}

				if (/[\r\n]/.test(input)) {
					dispatch({type: 'filter-done'});
				}
			}

			return;
		}

		const delta = moveDelta(input, key);
		if (delta !== undefined) {
			dispatch({type: 'move', delta});
		} else if (input === '/') {
			dispatch({type: 'filter-start'});
		} else if (key.escape) {
			dispatch({type: 'filter-clear'});
		} else if (key.return) {
			handlers.onOpen();
		} else if (input === 'r') {
			handlers.onRun();
		} else if (input === 'p') {
			handlers.onPair();
		} else if (input === 'g') {
			handlers.onRefresh();
		} else if (input === 'a') {
			handlers.onAudit();
		} else if (input === 'h') {
			handlers.onHistory();
		} else if (input === '?') {
			handlers.onHelp();
		} else if (input === 'q') {
			handlers.onQuit();
		}
	}, isActive);
}
