/**
 * The run history screen's state: the controller's past runs (newest first, as `xi-exec runs`
 * lists them), a search (text typed after `/`, matched against each run's output too; the agent
 * whose details it was opened from), a cursor over the runs found, and what went wrong reading
 * them. Pure.
 */
import {useReducer} from 'react';
import type {RunState} from '../../../run/run-state.js';
import type {StoredRun} from '../../../history/run-record.js';
import {searchRuns, type HistoryFilter} from './run-search.js';

/** `editing`: the search is being typed (letters go to it). */
export type HistoryState = {runs?: StoredRun[]; cursor: number; error?: string; filter: HistoryFilter; editing: boolean};

export type HistoryAction =
	| {type: 'loaded'; runs: StoredRun[]}
	| {type: 'failed'; reason: string}
	| {type: 'move'; delta: number}
	| {type: 'search-start'}
	| {type: 'search-type'; text: string}
	| {type: 'search-erase'}
	| {type: 'search-done'}
	| {type: 'search-clear'};

export function initialHistoryState(filter: HistoryFilter = {text: ''}): HistoryState {
	return {cursor: 0, filter, editing: false};
}

export function reduceHistory(state: HistoryState, action: HistoryAction): HistoryState {
	switch (action.type) {
		case 'loaded': {
			const next = {...state, runs: action.runs, error: undefined};
			return {...next, cursor: clampCursor(next, state.cursor)};
		}

		case 'failed': {
			return {...state, error: action.reason};
		}

		case 'move': {
			return {...state, cursor: clampCursor(state, state.cursor + action.delta)};
		}

		case 'search-start': {
			return {...state, editing: true};
		}

		case 'search-type': {
			const next = {...state, filter: {...state.filter, text: state.filter.text + action.text}};
			return {...next, cursor: 0};
		}

		case 'search-erase': {
			return {...state, filter: {...state.filter, text: [...state.filter.text].slice(0, -1).join('')}, cursor: 0};
		}

		case 'search-done': {
			return {...state, editing: false};
		}

		case 'search-clear': {
			// The agent it was opened for stays: Esc again goes back to its details.
			return {...state, editing: false, filter: {text: '', ...(state.filter.agent === undefined ? {} : {agent: state.filter.agent})}, cursor: 0};
		}
	}
}

/** The runs the search finds (all of them without one), each with where its text is. */
export function foundRuns(state: HistoryState): Array<{run: StoredRun; where?: string}> {
	return state.runs ? searchRuns(state.runs, state.filter) : [];
}

function clampCursor(state: HistoryState, cursor: number): number {
	return Math.max(0, Math.min(cursor, foundRuns(state).length - 1));
}

/** A stored run as the run screen shows a finished one: every target with its outcome and output. */
export function storedRunState(run: StoredRun): RunState {
	const agents: RunState['agents'] = {};
	for (const result of run.results) {
		agents[result.agent] = {name: result.agent, phase: result.status, output: result.stdout + result.stderr, result};
	}

	return {requestId: run.header.requestId, script: run.header.script, order: run.results.map(result => result.agent), agents, finished: true};
}

/** `filter`: the search to start with (a run opened from it comes back to it; h on an agent's details: its runs). */
export function useHistoryState(filter?: HistoryFilter) {
	return useReducer(reduceHistory, filter, initialHistoryState);
}
