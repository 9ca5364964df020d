/**
 * The run screen's keys (run-keys.ts, step by step) and its link to the core (use-run-handle.ts):
 * starting and cancelling a run, whose events come back as actions.
 */
import type {Dispatch} from 'react';
import type {ConsoleCore} from '../../core.js';
import {useKeys} from '../../keys.js';
import {runKey} from './run-keys.js';
import {useRunHandle} from './use-run-handle.js';
import type {RunScreenAction, RunScreenState} from './use-run-state.js';

/** `page`: how many hosts the running screen's list shows at once (PgUp/PgDn move by that). */
export function useRun(state: RunScreenState, dispatch: Dispatch<RunScreenAction>, core: ConsoleCore, onBack: () => void, isActive: boolean, onAudit?: (requestId: string) => void, onOutput?: (agent: string) => void, onHelp?: () => void, page = 10): void {
	const run = useRunHandle(dispatch, core);
	useKeys((input, key) => {
		if (input === '?' && state.step !== 'args' && onHelp) {
			onHelp();
			return;
		}

		runKey(state, input, key, {dispatch, run, onBack, ...(onAudit ? {onAudit} : {}), ...(onOutput ? {onOutput} : {}), page});
	}, isActive);
}
