/**
 * What each key does on each step of the run screen: an action for the reducer, a call to the run
 * (use-run-handle.ts), or a way out (back, audit, a host's output). One function per step.
 */
import type {Key} from 'ink';
import type {Dispatch} from 'react';
import {moveDelta} from '../../move-delta.js';
import {fieldOfKey} from './run-controls.js';
import {outcomeOrder} from './run-layout.js';
import {checkTypedArgs} from './typed-args.js';
import type {RunControl} from './use-run-handle.js';
import {cancellingNotice, type ConfirmStep, type RunScreenAction, type RunScreenState, type RunningStep} from './use-run-state.js';

export const cancelQuestion = 'Cancel this run? c again cancels it; any other key keeps it going.';

export type RunKeysContext = {
	dispatch: Dispatch<RunScreenAction>;
	run: RunControl;
	onBack: () => void;
	onAudit?: (requestId: string) => void;
	onOutput?: (agent: string) => void;
	/** How many hosts the running screen's list shows at once (PgUp/PgDn move by that). */
	page: number;
};

export function runKey(state: RunScreenState, input: string, key: Key, context: RunKeysContext): void {
	switch (state.step) {
		case 'pick': {
			pickKey(input, key, context);
			return;
		}

		case 'args': {
			argsKey(state.text, state.choice.schema, input, key, context);
			return;
		}

		case 'confirm': {
			if (state.editing) {
				controlKey(input, key, context);
			} else {
				confirmKey(state, input, key, context);
			}

			return;
		}

		case 'running': {
			runningKey(state, input, key, context);
		}
	}
}

function pickKey(input: string, key: Key, {dispatch, onBack}: RunKeysContext): void {
	const delta = moveDelta(input, key);
	if (delta !== undefined) {
		dispatch({type: 'move', delta});
	} else if (key.return) {
		dispatch({type: 'pick'});
	} else if (key.escape || input === 'q') {
		onBack();
	}
}

function argsKey(text: string, schema: unknown, input: string, key: Key, {dispatch, onBack}: RunKeysContext): void {
	if (key.return) {
		dispatch(checkTypedArgs(text, schema));
	} else if (key.escape) {
		onBack();
	} else if (key.backspace || key.delete) {
		dispatch({type: 'erase'});
	} else if (!key.ctrl && !key.meta && input.length > 0) {
		dispatch({type: 'type', text: input.replace(/[\u0000-\u001F]/g, '')});
	}
}

/** A run control (b, m, c, t) being typed into. */
function controlKey(input: string, key: Key, {dispatch}: RunKeysContext): void {
	if (key.return) {
		dispatch({type: 'set-control'});
	} else if (key.escape) {
		dispatch({type: 'keep-control'});
	} else if (key.backspace || key.delete) {
		dispatch({type: 'erase'});
	} else if (input.length > 0 && !key.ctrl && !key.meta) {
		dispatch({type: 'type', text: input});
	}
}

function confirmKey(state: ConfirmStep, input: string, key: Key, {dispatch, run, onBack}: RunKeysContext): void {
	const field = fieldOfKey(input);
	if (field && !key.ctrl && !key.meta) {
		dispatch({type: 'edit-control', field});
	} else if (input === 'd' && !key.ctrl && !key.meta) {
		run.dryRun(state);
	} else if (key.escape) {
		if (state.previous) {
			dispatch({type: 'back'});
		} else {
			onBack();
		}
	} else if (key.backspace || key.delete) {
		dispatch({type: 'erase'});
	} else if (key.return) {
		const refusal = confirmRefusal(state);
		if (refusal === undefined) {
			run.start(state);
		} else {
			dispatch({type: 'confirm-refused', reason: refusal});
		}
	} else if (input.length > 0 && !key.ctrl) {
		dispatch({type: 'type', text: input});
	}
}

/** Why Enter on the confirmation does not start the run: too many targets, or the count not typed. */
export function confirmRefusal(state: ConfirmStep): string | undefined {
	const {choice, targets} = state;
	if (choice.maxTargets !== undefined && targets.length > choice.maxTargets) {
		return `${choice.name} allows at most ${choice.maxTargets} targets (maxTargets in its allowlist entry); narrow the filter`;
	}

	if (choice.confirm && state.typed !== String(targets.length)) {
		return `type ${targets.length}, the number of targets, to confirm`;
	}

	return undefined;
}

function runningKey(state: RunningStep, input: string, key: Key, context: RunKeysContext): void {
	const {dispatch, run} = context;
	const delta = moveDelta(input, key, context.page);
	if (state.notice === cancelQuestion && input !== 'c') {
		dispatch({type: 'notice'});
	}

	if (key.escape && run.waitingApproval()) {
		run.cancel();
	} else if (state.canary && (input === 'y' || input === 'n')) {
		run.answerCanary(input === 'y');
		dispatch({type: 'canary-answered', go: input === 'y'});
	} else if (delta !== undefined) {
		dispatch({type: 'move', delta});
	} else if (input === 'c' && !state.run.finished) {
		cancelKey(state, context);
	} else if (state.run.finished) {
		finishedKey(state, input, key, context);
	} else if (key.return) {
		openOutput(state, context);
	}
}

/** A whole fleet's run is not cancelled by one stray key: c asks, c again cancels. */
function cancelKey(state: RunningStep, {dispatch, run}: RunKeysContext): void {
	if (state.notice !== cancelQuestion) {
		dispatch({type: 'notice', text: cancelQuestion});
		return;
	}

	run.cancel();
	if (state.canary) {
		run.answerCanary(false);
		dispatch({type: 'canary-answered', go: false});
	}

	dispatch({type: 'notice', text: cancellingNotice});
}

/** Once the run has ended: f reruns what was not ok, Esc or q goes back, a shows its audit records. */
function finishedKey(state: RunningStep, input: string, key: Key, context: RunKeysContext): void {
	if (input === 'f') {
		context.dispatch({type: 'rerun', targets: state.run.order.filter(name => state.run.agents[name]!.phase !== 'ok')});
	} else if (key.escape || input === 'q') {
		context.onBack();
	} else if (input === 'a') {
		context.onAudit?.(state.requestId);
	} else if (key.return) {
		openOutput(state, context);
	}
}

/** Enter: the selected host's whole output (the first by outcome when none is selected). */
function openOutput(state: RunningStep, {onOutput}: RunKeysContext): void {
	const agent = state.selected ?? outcomeOrder(state.run)[0]?.name;
	if (agent) {
		onOutput?.(agent);
	}
}
