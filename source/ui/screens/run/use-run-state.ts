/**
 * The run screen's state, step by step: pick a script, type its arguments, confirm the targets,
 * then watch the run (the dispatcher's events folded by the shared run reducer). Every step knows
 * the run's targets: every agent the selection named, reachable or not, with the script or not
 * (the run accounts for each, as the CLI's does). Pure.
 */
import {useReducer} from 'react';
import type {RunEvent} from '../../../run/events.js';
import {initialRunState, reduceRun, type RunState} from '../../../run/run-state.js';
import {outcomeOrder} from './run-layout.js';
import {appendOutput, type LiveLine} from './live-lines.js';
import {paneResult} from './pane-output.js';
import type {ScriptChoice} from './script-choices.js';
import {controlText as controlTextOf, setControl, type ControlField, type RunControls} from './run-controls.js';
import type {DryRunView} from '../../core.js';

/** `selected`: a host by name (the order by outcome changes as hosts finish); the first when unset. */
/** `live`: each host's output lines as they came, with their stream (stderr is marked in the panes). */
/** `canary`: the canary hosts are all ok and the run waits for the operator's y or n to go on with `rest` more. */
export type RunningStep = {step: 'running'; choice: ScriptChoice; args: string[]; requestId: string; run: RunState; live?: Readonly<Record<string, LiveLine[]>>; selected?: string; startedAt: number; finishedAt?: number; notice?: string; controls?: RunControls; canary?: {hosts: number; rest: number}};

/** A field of the run controls being typed into (b, m, c, t on the confirmation). */
export type ControlEdit = {field: ControlField; text: string; error?: string};

/** A dry run of the confirmation's request: asked (`id` tells its answer from an earlier one's), answered or refused. */
export type DryRunState = {status: 'asking'; id: number} | {status: 'done'; id: number; view: DryRunView} | {status: 'refused'; id: number; reason: string};

export type ConfirmStep = {
	step: 'confirm';
	choice: ScriptChoice;
	args: string[];
	targets: string[];
	typed: string;
	error?: string;
	/** The finished run a rerun was asked from, for Esc to come back to. */
	previous?: RunningStep;
	controls: RunControls;
	editing?: ControlEdit;
	dryRun?: DryRunState;
};

export type RunScreenState =
	| {step: 'pick'; choices: ScriptChoice[]; cursor: number; targets: string[]}
	| {step: 'args'; choice: ScriptChoice; text: string; error?: string; targets: string[]}
	| ConfirmStep
	| RunningStep;

export type RunScreenAction =
	| {type: 'move'; delta: number}
	| {type: 'pick'}
	| {type: 'type'; text: string}
	| {type: 'erase'}
	| {type: 'args-refused'; reason: string}
	| {type: 'args-accepted'; args: string[]}
	| {type: 'confirm-refused'; reason: string}
	| {type: 'started'; requestId: string; at: number}
	| {type: 'rerun'; targets: string[]}
	/** Esc on a rerun's confirmation: back to the results it was asked from. */
	| {type: 'back'}
	/** A line for the operator on the running screen (a question, what a key did); none clears it. */
	| {type: 'notice'; text?: string}
	/** `at`: when it came (ms), for the run's elapsed time. */
	| {type: 'event'; event: RunEvent; at?: number}
	/** b, m, c, t on the confirmation: type that control's value; Enter sets it, Esc leaves it as it was. */
	| {type: 'edit-control'; field: ControlField}
	| {type: 'set-control'}
	| {type: 'keep-control'}
	| {type: 'dry-run-asked'; id: number}
	| {type: 'dry-run-answered'; id: number; view: DryRunView}
	| {type: 'dry-run-refused'; id: number; reason: string}
	/** The canary hosts are all ok: the run asks whether to go on. */
	| {type: 'canary-asked'; hosts: number; rest: number}
	| {type: 'canary-answered'; go: boolean};

/** What the running screen says once c has been pressed twice, until the run has ended. */
export const cancellingNotice = 'Cancelling: hosts still running are stopped.';

export function initialRunScreen({choices, targets}: {choices: ScriptChoice[]; targets: string[]}): RunScreenState {
	return {step: 'pick', choices, cursor: 0, targets};
}

export function reduceRunScreen(state: RunScreenState, action: RunScreenAction): RunScreenState {
	switch (state.step) {
		case 'pick': {
			if (action.type === 'move') {
				return {...state, cursor: clamp(state.cursor + action.delta, state.choices.length)};
			}

			if (action.type === 'pick' && state.choices[state.cursor]) {
				return {step: 'args', choice: state.choices[state.cursor]!, text: '', targets: state.targets};
			}

			return state;
		}

		case 'args': {
			return reduceArgs(state, action);
		}

		case 'confirm': {
			return state.editing ? reduceControlEdit(state, state.editing, action) : reduceConfirm(state, action);
		}

		case 'running': {
			return reduceRunning(state, action);
		}
	}
}

function reduceArgs(state: Extract<RunScreenState, {step: 'args'}>, action: RunScreenAction): RunScreenState {
	switch (action.type) {
		case 'type': {
			return {...state, text: state.text + action.text, error: undefined};
		}

		case 'erase': {
			return {...state, text: state.text.slice(0, -1), error: undefined};
		}

		case 'args-refused': {
			return {...state, error: action.reason};
		}

		case 'args-accepted': {
			return {step: 'confirm', choice: state.choice, args: action.args, targets: state.targets, typed: '', controls: {}};
		}

		default: {
			return state;
		}
	}
}

/** The confirmation: the count typed (digits only), a control opened, a dry run asked and answered, the run started. */
function reduceConfirm(state: ConfirmStep, action: RunScreenAction): RunScreenState {
	switch (action.type) {
		case 'edit-control': {
			return {...state, editing: {field: action.field, text: controlTextOf(state.controls, action.field)}, error: undefined};
		}

		case 'dry-run-asked': {
			return {...state, dryRun: {status: 'asking', id: action.id}};
		}

		case 'dry-run-answered': {
			return state.dryRun?.id === action.id ? {...state, dryRun: {status: 'done', id: action.id, view: action.view}} : state;
		}

		case 'dry-run-refused': {
			return state.dryRun?.id === action.id ? {...state, dryRun: {status: 'refused', id: action.id, reason: action.reason}} : state;
		}

		case 'type': {
			return /^\d+$/.test(action.text) ? {...state, typed: state.typed + action.text, error: undefined} : state;
		}

		case 'erase': {
			return {...state, typed: state.typed.slice(0, -1), error: undefined};
		}

		case 'confirm-refused': {
			return {...state, error: action.reason};
		}

		case 'back': {
			return state.previous ?? state;
		}

		case 'started': {
			return {step: 'running', choice: state.choice, args: state.args, requestId: action.requestId, run: initialRunState, startedAt: action.at, controls: state.controls};
		}

		default: {
			return state;
		}
	}
}

/** The run going and ended: its events folded in, a host selected, a notice, the canary question, a rerun asked. */
function reduceRunning(state: RunningStep, action: RunScreenAction): RunScreenState {
	switch (action.type) {
		case 'event': {
			const {event} = action;
			const finishedAt = event.type === 'run-finished' && action.at !== undefined ? {finishedAt: action.at} : {};
			// A computed key defines an own property, even for a host named `__proto__`.
			const live = event.type === 'agent-output' ? {live: {...state.live, [event.agent]: appendOutput(state.live && Object.hasOwn(state.live, event.agent) ? state.live[event.agent]! : [], event.stream, event.data)}} : {};
			// "Cancelling…" is news only until the run has ended: the summary then says what was cancelled.
			const notice = event.type === 'run-finished' && state.notice === cancellingNotice ? {notice: undefined} : {};
			// A finished host's output is held as its pane shows it: each stream's tail (pane-output.ts).
			const held = event.type === 'agent-finished' ? {...event, result: paneResult(event.result, state.requestId)} : event;
			return {...state, run: reduceRun(state.run, held), ...live, ...finishedAt, ...notice};
		}

		case 'move': {
			const order = outcomeOrder(state.run).map(agent => agent.name);
			const index = Math.max(0, order.indexOf(state.selected ?? order[0] ?? ''));
			const selected = order[clamp(index + action.delta, order.length)];
			return selected === undefined ? state : {...state, selected};
		}

		case 'notice': {
			return {...state, notice: action.text};
		}

		case 'canary-asked': {
			return {...state, canary: {hosts: action.hosts, rest: action.rest}};
		}

		case 'canary-answered': {
			if (!state.canary) {
				return state;
			}

			const {canary: _answered, ...rest} = state;
			return {...rest, notice: action.go ? `Going on with the other ${state.canary.rest}.` : `Stopped after the canary: the other ${state.canary.rest} are skipped.`};
		}

		case 'rerun': {
			if (!state.run.finished) {
				return state;
			}

			return action.targets.length > 0
				? {step: 'confirm', choice: state.choice, args: state.args, targets: action.targets, typed: '', previous: {...state, notice: undefined}, controls: state.controls ?? {}}
				: {...state, notice: 'Every host was ok: nothing to rerun.'};
		}

		default: {
			return state;
		}
	}
}

/** Keys while a control is typed into: digits and % go to it; Enter sets it (or names what is wrong), Esc keeps it. */
function reduceControlEdit(state: ConfirmStep, editing: ControlEdit, action: RunScreenAction): RunScreenState {
	switch (action.type) {
		case 'type': {
			return {...state, editing: {...editing, text: editing.text + action.text.replace(/[^\d%]/g, ''), error: undefined}};
		}

		case 'erase': {
			return {...state, editing: {...editing, text: editing.text.slice(0, -1), error: undefined}};
		}

		case 'keep-control': {
			const {editing: _kept, ...rest} = state;
			return rest;
		}

		case 'set-control': {
			const set = setControl(state.controls, editing.field, editing.text);
			if (!set.ok) {
				return {...state, editing: {...editing, error: set.reason}};
			}

			// A dry run of other controls no longer says what would run.
			const {editing: _set, dryRun: _stale, ...rest} = state;
			return {...rest, controls: set.controls};
		}

		default: {
			return state;
		}
	}
}

/** An index moved by a delta (±Infinity for the ends), kept within a list of `count`. */
function clamp(index: number, count: number): number {
	return Math.max(0, Math.min(index, count - 1));
}

/** `from`: a state to start in (a past run from the history) instead of the pick step. */
export function useRunScreenState(choices: ScriptChoice[], targets: string[], from?: RunScreenState) {
	return useReducer(reduceRunScreen, {choices, targets}, start => from ?? initialRunScreen(start));
}
