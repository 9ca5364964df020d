/**
 * The run screen's state, step by step: pick a script, type its arguments, confirm the targets,
 * then watch the run (the dispatcher's events folded by the shared run reducer). Pure.
 */
import {useReducer} from 'react';
import type {RunEvent} from '../../../dispatch/events.js';
import {initialRunState, reduceRun, type RunState} from '../../../dispatch/run-state.js';
import type {ScriptChoice} from './script-choices.js';

export type RunScreenState =
	| {step: 'pick'; choices: ScriptChoice[]; cursor: number}
	| {step: 'args'; choice: ScriptChoice; text: string; error?: string}
	| {step: 'confirm'; choice: ScriptChoice; args: string[]; targets: string[]; typed: string; error?: string}
	| {step: 'running'; choice: ScriptChoice; args: string[]; requestId: string; run: RunState; cursor: number};

export type RunScreenAction =
	| {type: 'move'; delta: number}
	| {type: 'pick'}
	| {type: 'type'; text: string}
	| {type: 'erase'}
	| {type: 'args-refused'; reason: string}
	| {type: 'args-accepted'; args: string[]}
	| {type: 'confirm-refused'; reason: string}
	| {type: 'started'; requestId: string}
	| {type: 'rerun'; targets: string[]}
	| {type: 'event'; event: RunEvent};

export function initialRunScreen(choices: ScriptChoice[]): RunScreenState {
	return {step: 'pick', choices, cursor: 0};
}

export function reduceRunScreen(state: RunScreenState, action: RunScreenAction): RunScreenState {
	switch (state.step) {
		case 'pick': {
			if (action.type === 'move') {
				return {...state, cursor: Math.max(0, Math.min(state.cursor + action.delta, state.choices.length - 1))};
			}

			if (action.type === 'pick' && state.choices[state.cursor]) {
				return {step: 'args', choice: state.choices[state.cursor]!, text: ''};
			}

			return state;
		}

		case 'args': {
			if (action.type === 'type') {
				return {...state, text: state.text + action.text, error: undefined};
			}

			if (action.type === 'erase') {
				return {...state, text: state.text.slice(0, -1), error: undefined};
			}

			if (action.type === 'args-refused') {
				return {...state, error: action.reason};
			}

			if (action.type === 'args-accepted') {
				return {step: 'confirm', choice: state.choice, args: action.args, targets: state.choice.agents, typed: ''};
			}

			return state;
		}

		case 'confirm': {
			if (action.type === 'type' && /^\d+$/.test(action.text)) {
				return {...state, typed: state.typed + action.text, error: undefined};
			}

			if (action.type === 'erase') {
				return {...state, typed: state.typed.slice(0, -1)};
			}

			if (action.type === 'confirm-refused') {
				return {...state, error: action.reason};
			}

			if (action.type === 'started') {
				return {step: 'running', choice: state.choice, args: state.args, requestId: action.requestId, run: initialRunState, cursor: 0};
			}

			return state;
		}

		case 'running': {
			if (action.type === 'event') {
				return {...state, run: reduceRun(state.run, action.event)};
			}

			if (action.type === 'move') {
				return {...state, cursor: Math.max(0, Math.min(state.cursor + action.delta, state.run.order.length - 1))};
			}

			if (action.type === 'rerun' && state.run.finished && action.targets.length > 0) {
				return {step: 'confirm', choice: state.choice, args: state.args, targets: action.targets, typed: ''};
			}

			return state;
		}
	}
}

export function useRunScreenState(choices: ScriptChoice[]) {
	return useReducer(reduceRunScreen, choices, initialRunScreen);
}
