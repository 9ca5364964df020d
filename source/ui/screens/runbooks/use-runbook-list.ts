/** The runbook list's link to the core: the runbooks and their runs, read whenever the list is shown anew (and with g). */
import {useCallback, useEffect, type Dispatch} from 'react';
import type {RunbooksPort} from '../../core.js';
import type {RunbooksAction, RunbooksState} from './use-runbooks-state.js';

/** Returns the way to read the list again. */
export function useRunbookList(state: RunbooksState, dispatch: Dispatch<RunbooksAction>, runbooks: RunbooksPort): () => Promise<void> {
	const load = useCallback(async () => {
		try {
			const [entries, runs] = await Promise.all([runbooks.list(), runbooks.runs()]);
			dispatch({type: 'listed', entries});
			dispatch({type: 'runs-listed', runs});
		} catch (error) {
			dispatch({type: 'list-failed', reason: (error as Error).message});
		}
	}, [runbooks, dispatch]);
	// At first, and back from a runbook.
	const unread = state.step === 'list' && state.entries === undefined;
	useEffect(() => {
		if (unread) {
			void load();
		}
	}, [load, unread]);
	return load;
}
