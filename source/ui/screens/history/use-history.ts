/** The history screen's keys, and its one call to the core: reading the runs (again with g). */
import {useCallback, useEffect, type Dispatch} from 'react';
import type {StoredRun} from '../../../history/run-record.js';
import type {ConsoleCore} from '../../core.js';
import {useKeys} from '../../keys.js';
import {moveDelta} from '../run/use-run.js';
import type {HistoryAction, HistoryState} from './use-history-state.js';

export function useHistory(state: HistoryState, dispatch: Dispatch<HistoryAction>, core: ConsoleCore, handlers: {onOpen: (run: StoredRun) => void; onBack: () => void; onHelp: () => void}, isActive: boolean): void {
	const load = useCallback(() => {
		core.listRuns(200).then(runs => {
			dispatch({type: 'loaded', runs});
		}, (error: unknown) => {
			dispatch({type: 'failed', reason: (error as Error).message});
		});
	}, [core, dispatch]);
	useEffect(load, [load]);

	useKeys((input, key) => {
		const delta = moveDelta(input, key);
		const run = state.runs?.[state.cursor];
		if (delta !== undefined) {
			dispatch({type: 'move', delta});
		} else if (key.return && run) {
			handlers.onOpen(run);
		} else if (input === 'g') {
			load();
		} else if (input === '?') {
			handlers.onHelp();
		} else if (key.escape || input === 'q') {
			handlers.onBack();
		}
	}, isActive);
}
