/**
 * What each key does while a runbook runs: the question it asks (a `confirm` script's count typed,
 * a canary's y or n), moving among its steps and hosts, cancel (asked first, as the run screen's),
 * and Esc once it has ended.
 */
import type {Key} from 'ink';
import type {Dispatch} from 'react';
import {moveDelta} from '../../move-delta.js';
import type {RunbooksAction, RunningStep} from './use-runbooks-state.js';

export const cancelRunbookQuestion = 'Cancel the runbook? c again stops the step running on every host and runs nothing after it; any other key: no.';
const stillRunning = 'The runbook is running: c cancels it; Esc goes back once it has ended.';

export type RunbookRunKeysContext = {
	dispatch: Dispatch<RunbooksAction>;
	/** What the `confirm` question waits to see typed. */
	expected: () => string | undefined;
	/** Answers the question the run waits on, once. */
	answer: (yes: boolean) => void;
	cancel: () => void;
	/** Esc once the run has ended: back to the list (which is read again), and the plan may be run again. */
	leave: () => void;
};

export function runbookRunKey(state: RunningStep, input: string, key: Key, context: RunbookRunKeysContext): void {
	const {question} = state;
	if (question?.kind === 'confirm') {
		confirmKey(question.typed, input, key, context);
		return;
	}

	if (question?.kind === 'canary' && (input === 'y' || input === 'n')) {
		context.answer(input === 'y');
		context.dispatch({type: 'answered', notice: input === 'y' ? `${question.step}: going on with its other hosts.` : `${question.step}: stopped after the canary.`});
		return;
	}

	const {dispatch} = context;
	const asked = state.notice === cancelRunbookQuestion;
	if (asked && input !== 'c') {
		dispatch({type: 'notice'});
	}

	const delta = moveDelta(input, key);
	if (delta !== undefined) {
		dispatch({type: 'move', delta});
	} else if (key.leftArrow || key.rightArrow || input === 'h' || input === 'l') {
		dispatch({type: 'host', delta: key.leftArrow || input === 'h' ? -1 : 1});
	} else if (input === 'c' && !state.end) {
		if (asked) {
			context.cancel();
			context.answer(false);
			dispatch({type: 'answered', notice: 'Cancelling: the step running is stopped on every host; nothing after it runs.'});
		} else {
			dispatch({type: 'notice', text: cancelRunbookQuestion});
		}
	} else if (key.escape || input === 'q') {
		if (state.end) {
			context.leave();
		} else {
			dispatch({type: 'notice', text: stillRunning});
		}
	}
}

/** A `confirm` script's question: the number typed, Enter (right or not), Esc for no. */
function confirmKey(typed: string, input: string, key: Key, {dispatch, expected, answer}: RunbookRunKeysContext): void {
	if (key.return) {
		if (typed === expected()) {
			answer(true);
			dispatch({type: 'answered', notice: 'Confirmed: the step runs.'});
		} else {
			dispatch({type: 'notice', text: `type ${expected() ?? 'the number asked'} to confirm, or Esc for no`});
		}
	} else if (key.escape) {
		answer(false);
		dispatch({type: 'answered', notice: 'Not confirmed: the step does not run.'});
	} else if (key.backspace || key.delete) {
		dispatch({type: 'erase'});
	} else if (!key.ctrl && input.length > 0) {
		dispatch({type: 'type', text: input});
	}
}
