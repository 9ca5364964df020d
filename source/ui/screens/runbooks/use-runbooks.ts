/**
 * The runbook screen's keys (runbook-step-keys.ts, and use-runbook-run.ts once running), and its
 * links to the core: the list (use-runbook-list.ts) and the dry run of a new run or of the resume
 * of a run picked from the list.
 */
import {useRef, type Dispatch} from 'react';
import type {RunbooksPort} from '../../core.js';
import {useKeys} from '../../keys.js';
import {listKey, paramsKey, planKey, type RunbookStepKeysContext} from './runbook-step-keys.js';
import {useRunbookList} from './use-runbook-list.js';
import {useRunbookRun} from './use-runbook-run.js';
import type {RunbooksAction, RunbooksState} from './use-runbooks-state.js';

export type RunbooksHandlers = {onBack: () => void; onHelp?: () => void};

/** `page`: lines PgUp/PgDn scroll the dry run by. */
export function useRunbooks(state: RunbooksState, dispatch: Dispatch<RunbooksAction>, runbooks: RunbooksPort, handlers: RunbooksHandlers, options: {isActive: boolean; page: number}): void {
	const plans = useRef(0);
	const run = useRunbookRun(dispatch, runbooks);
	const load = useRunbookList(state, dispatch, runbooks);
	const context: RunbookStepKeysContext = {
		dispatch,
		askPlan(name, values, resume) {
			const id = ++plans.current;
			runbooks.plan(name, values, resume === undefined ? undefined : {resume}).then(plan => {
				dispatch({type: 'planned', id, plan});
			}, (error: unknown) => {
				dispatch({type: 'plan-refused', id, reason: (error as Error).message});
			});
			return id;
		},
		skipPlan: () => ++plans.current,
		reload() {
			void load();
		},
		start() {
			if (state.step === 'plan') {
				run.start(state);
			}
		},
		onBack: handlers.onBack,
		page: options.page,
	};

	useKeys((input, key) => {
		if (input === '?' && state.step !== 'params' && !(state.step === 'running' && state.question?.kind === 'confirm')) {
			handlers.onHelp?.();
			return;
		}

		switch (state.step) {
			case 'list': {
				listKey(state, input, key, context);
				return;
			}

			case 'params': {
				paramsKey(state, input, key, context);
				return;
			}

			case 'plan': {
				planKey(input, key, context);
				return;
			}

			case 'running': {
				run.key(state, input, key);
			}
		}
	}, options.isActive);
}
