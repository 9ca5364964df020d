/**
 * What each key does on the runbook screen's steps before the run: the list (runbooks or their
 * runs), the parameters, the dry run. The running step's keys are in runbook-run-keys.ts.
 */
import type {Key} from 'ink';
import type {Dispatch} from 'react';
import {moveDelta} from '../../move-delta.js';
import {checkFields} from './runbook-fields.js';
import {resumeTarget, type ListStep, type ParamsStep, type RunbooksAction} from './use-runbooks-state.js';

export type RunbookStepKeysContext = {
	dispatch: Dispatch<RunbooksAction>;
	/** Asks the dry run of a runbook with these values (or of the resume of run `resume`); returns its id. */
	askPlan: (name: string, values: Record<string, unknown>, resume: string | undefined) => number;
	/** An id no dry run has: parameters refused before any is asked. */
	skipPlan: () => number;
	/** Reads the list again. */
	reload: () => void;
	/** Starts the run of the dry run shown. */
	start: () => void;
	onBack: () => void;
	/** Lines PgUp/PgDn move by. */
	page: number;
};

export function listKey(list: ListStep, input: string, key: Key, {dispatch, askPlan, reload, onBack, page}: RunbookStepKeysContext): void {
	const delta = moveDelta(input, key, page);
	if (delta !== undefined) {
		dispatch({type: 'move', delta});
	} else if (key.tab) {
		dispatch({type: 'view'});
	} else if (key.return) {
		const target = resumeTarget(list);
		// A resume with no secret to give again goes straight to its dry run.
		dispatch(target?.ok && target.secrets.length === 0 ? {type: 'pick', id: askPlan(target.entry.name, {}, target.run.id)} : {type: 'pick'});
	} else if (input === 'g') {
		reload();
	} else if (key.escape || input === 'q') {
		onBack();
	}
}

export function paramsKey(params: ParamsStep, input: string, key: Key, {dispatch, askPlan, skipPlan}: RunbookStepKeysContext): void {
	if (key.upArrow || (key.tab && key.shift)) {
		dispatch({type: 'move', delta: -1});
	} else if (key.downArrow || key.tab) {
		dispatch({type: 'move', delta: 1});
	} else if (key.leftArrow || key.rightArrow) {
		dispatch({type: 'cycle', delta: key.leftArrow ? -1 : 1});
	} else if (key.return) {
		const checked = checkFields(params.fields);
		dispatch({type: 'check', id: checked.ok ? askPlan(params.entry.name, checked.values, params.resume) : skipPlan()});
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
}

export function planKey(input: string, key: Key, {dispatch, start, page}: RunbookStepKeysContext): void {
	const delta = moveDelta(input, key, page);
	if (delta !== undefined) {
		dispatch({type: 'move', delta});
	} else if (key.return) {
		start();
	} else if (key.escape || input === 'q') {
		dispatch({type: 'back'});
	}
}
