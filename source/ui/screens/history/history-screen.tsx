/** The history screen as the console shell places it: its state, its keys and its view, telling the shell its search. */
import {useLayoutEffect} from 'react';
import type {StoredRun} from '../../../history/run-record.js';
import type {ConsoleCore} from '../../core.js';
import {History} from './history.js';
import type {HistoryFilter} from './run-search.js';
import {useHistory} from './use-history.js';
import {useHistoryState} from './use-history-state.js';

export function HistoryScreen({core, height, filter, onOpen, onBack, onHelp, onFilter}: {core: ConsoleCore; height: number; filter: HistoryFilter | undefined; onOpen: (run: StoredRun) => void; onBack: () => void; onHelp: () => void; onFilter: (filter: HistoryFilter, editing: boolean) => void}) {
	const [state, dispatch] = useHistoryState(filter);
	useHistory(state, dispatch, core, {onOpen, onBack, onHelp}, true, Math.max(1, height - 3));
	useLayoutEffect(() => {
		onFilter(state.filter, state.editing);
	}, [onFilter, state.filter, state.editing]);
	return <History state={state} height={height}/>;
}
