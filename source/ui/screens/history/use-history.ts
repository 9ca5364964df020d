/** The history screen's keys (`/` searches the runs, their output too), and its one call to the core: reading the runs (again with g). */
import {useCallback, useEffect, type Dispatch} from 'react';
import type {StoredRun} from '../../../history/run-record.js';
import type {ConsoleCore} from '../../core.js';
import {useKeys} from '../../keys.js';
import {moveDelta} from '../../move-delta.js';
import {foundRuns, type HistoryAction, type HistoryState} from './use-history-state.js';

export function useHistory(state: HistoryState, dispatch: Dispatch<HistoryAction>, core: ConsoleCore, handlers: {onOpen: (run: StoredRun) => void; onBack: () => void; onHelp: () => void}, isActive: boolean, page = 10): void {
	const load = useCallback(() => {
		core.listRuns(200).then(runs => {
			dispatch({type: 'loaded', runs});
		}, (error: unknown) => {
			dispatch({type: 'failed', reason: (error as Error).message});
		});
	}, [core, dispatch]);
	useEffect(load, [load]);

	useKeys((input, key) => {
		if (state.editing) {
			if (key.escape) {
				dispatch({type: 'search-clear'});
			} else if (key.return) {
				dispatch({type: 'search-done'});
			} else if (key.backspace || key.delete) {
				dispatch({type: 'search-erase'});
			} else if (!key.ctrl && !key.meta && input.length > 0) {
				const text = input.replace(/[\u0000-\u001F\u007F]/g, '');
				if (text.length > 0) {
					dispatch({type: 'search-type', text});
				}

				// A paste ending in Enter keeps the search, as typing it and Enter would.
				if (/[\r\n]/.test(input)) {
					dispatch({type: 'search-done'});
				}
			}

			return;
		}

		const delta = moveDelta(input, key, page);
		const run = foundRuns(state)[state.cursor]?.run;
		if (delta !== undefined) {
			dispatch({type: 'move', delta});
		} else if (key.return && run) {
			handlers.onOpen(run);
		} else if (input === 'g') {
			load();
		} else if (input === '?') {
			handlers.onHelp();
		} else if (input === '/') {
			dispatch({type: 'search-start'});
		} else if (key.escape && state.filter.text !== '') {
			dispatch({type: 'search-clear'});
		} else if (key.escape || input === 'q') {
			handlers.onBack();
		}
	}, isActive);
}
