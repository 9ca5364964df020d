/** The output view's keys: scroll (↑↓ j k, PgUp PgDn, Home End), search (/ then Enter; n N), Esc back. */
import type {Dispatch} from 'react';
import {useKeys} from '../../keys.js';
import {moveDelta} from '../../move-delta.js';
import type {OutputAction, OutputState} from './use-output-state.js';

export function useOutput(state: OutputState, dispatch: Dispatch<OutputAction>, view: {lines: readonly string[]; rows: number; onBack: () => void; onHelp: () => void}, isActive: boolean): void {
	useKeys((input, key) => {
		if (state.editing) {
			if (key.return) {
				dispatch({type: 'find', direction: 1, lines: view.lines, rows: view.rows});
			} else if (key.escape) {
				dispatch({type: 'search-cancel'});
			} else if (key.backspace || key.delete) {
				dispatch({type: 'search-erase'});
			} else if (!key.ctrl && !key.meta && input.length > 0) {
				dispatch({type: 'search-type', text: input});
			}

			return;
		}

		const delta = moveDelta(input, key);
		if (delta !== undefined) {
			// A page is the rows shown, less one kept for context.
			dispatch({type: 'scroll', delta: Math.abs(delta) === 10 ? Math.sign(delta) * Math.max(1, view.rows - 1) : delta, lines: view.lines.length, rows: view.rows});
		} else if (input === '/') {
			dispatch({type: 'search-start'});
		} else if (input === 'n' || input === 'N') {
			dispatch({type: 'find', direction: input === 'n' ? 1 : -1, lines: view.lines, rows: view.rows});
		} else if (input === '?') {
			view.onHelp();
		} else if (key.escape || input === 'q') {
			view.onBack();
		}
	}, isActive);
}
