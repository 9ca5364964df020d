/**
 * The runbook screen's keys, and its one link to the core: it lists the runbooks and their runs
 * (Tab), asks the dry run (of a new run, or of the resume of a run picked from the list), and
 * hands the run itself to use-runbook-run.ts.
 */
import type {Key} from 'ink';
import {useCallback, useEffect, useRef, type Dispatch} from 'react';
import type {RunbooksPort} from '../../core.js';
import {useKeys} from '../../keys.js';
import {moveDelta} from '../../move-delta.js';
import {checkFields} from './runbook-fields.js';
import {useRunbookRun} from './use-runbook-run.js';
import {resumeTarget, type ListStep, type ParamsStep, type RunbooksAction, type RunbooksState} from './use-runbooks-state.js';

export {cancelRunbookQuestion} from './use-runbook-run.js';

export type RunbooksHandlers = {onBack: () => void; onHelp?: () => void};

/** `page`: lines PgUp/PgDn scroll the dry run by. */
export function useRunbooks(state: RunbooksState, dispatch: Dispatch<RunbooksAction>, runbooks: RunbooksPort, handlers: RunbooksHandlers, options: {isActive: boolean; page: number}): void {
	const plans = useRef(0);
	const run = useRunbookRun(dispatch, runbooks);
	const load = useCallback(async () => {
		try {
			const [entries, runs] = await Promise.all([runbooks.list(), runbooks.runs()]);
			dispatch({type: 'listed', entries});
			dispatch({type: 'runs-listed', runs});
		} catch (error) {
			dispatch({type: 'list-failed', reason: (error as Error).message});
		}
	}, [runbooks, dispatch]);
	// The list is read whenever it is shown anew (at first, and back from a runbook).
	const unread = state.step === 'list' && state.entries === undefined;
	useEffect(() => {
		if (unread) {
			void load();
		}
	}, [load, unread]);

	/** Asks the dry run of what the parameters (or the resume picked) now say. */
	const askPlan = (name: string, values: Record<string, unknown>, resume: string | undefined) => {
		const id = ++plans.current;
		runbooks.plan(name, values, resume === undefined ? undefined : {resume}).then(plan => {
			dispatch({type: 'planned', id, plan});
		}, (error: unknown) => {
			dispatch({type: 'plan-refused', id, reason: (error as Error).message});
		});
		return id;
	};

	const listKey = (list: ListStep, input: string, key: Key) => {
		const delta = moveDelta(input, key, options.page);
		if (delta !== undefined) {
			dispatch({type: 'move', delta});
		} else if (key.tab) {
			dispatch({type: 'view'});
		} else if (key.return) {
			const target = resumeTarget(list);
			// A resume with no secret to give again goes straight to its dry run.
			dispatch(target?.ok && target.secrets.length === 0 ? {type: 'pick', id: askPlan(target.entry.name, {}, target.run.id)} : {type: 'pick'});
		} else if (input === 'g') {
			void load();
		} else if (key.escape || input === 'q') {
			handlers.onBack();
		}
	};

	const paramsKey = (params: ParamsStep, input: string, key: Key) => {
		if (key.upArrow || (key.tab && key.shift)) {
			dispatch({type: 'move', delta: -1});
		} else if (key.downArrow || key.tab) {
			dispatch({type: 'move', delta: 1});
		} else if (key.leftArrow || key.rightArrow) {
			dispatch({type: 'cycle', delta: key.leftArrow ? -1 : 1});
		} else if (key.return) {
			const checked = checkFields(params.fields);
			dispatch({type: 'check', id: checked.ok ? askPlan(params.entry.name, checked.values, params.resume) : ++plans.current});
		} else if (key.escape) {
			dispatch({type: 'back'});
		} else if (key.backspace || key.delete) {
			dispatch({type: 'erase'});
		} else if (!key.ctrl && !key.meta && input.length > 0) {
			const text = input.replace(/[\u0000-\u001F\u007F]/g, '');
			if (text.length > 0) {
				dispatch({type: 'type', text});
			}
		}
	};

	useKeys((input, key) => {
		if (input === '?' && state.step !== 'params' && !(state.step === 'running' && state.question?.kind === 'confirm')) {
			handlers.onHelp?.();
			return;
		}

		switch (state.step) {
			case 'list': {
				listKey(state, input, key);
				return;
			}

			case 'params': {
				paramsKey(state, input, key);
				return;
			}

			case 'plan': {
				const delta = moveDelta(input, key, options.page);
				if (delta !== undefined) {
					dispatch({type: 'move', delta});
				} else if (key.return) {
					run.start(state);
				} else if (key.escape || input === 'q') {
					dispatch({type: 'back'});
				}

				return;
			}

			case 'running': {
				run.key(state, input, key);
			}
		}
	}, options.isActive);
}
