/**
 * The run history screen's state: the controller's past runs (newest first, as `xi-exec runs`
 * lists them), a cursor, and what went wrong reading them. Pure.
 */
import {useReducer} from 'react';
import type {RunState} from '../../../run/run-state.js';
import type {StoredRun} from '../../../history/run-record.js';

export type HistoryState = {runs?: StoredRun[]; cursor: number; error?: string};

export type HistoryAction =
	| {type: 'loaded'; runs: StoredRun[]}
	| {type: 'failed'; reason: string}
	| {type: 'move'; delta: number};

export const initialHistoryState: HistoryState = {cursor: 0};

export function reduceHistory(state: HistoryState, action: HistoryAction): HistoryState {
	switch (action.type) {
		case 'loaded': {
			return {runs: action.runs, cursor: Math.max(0, Math.min(state.cursor, action.runs.length - 1)), error: undefined};
		}

		case 'failed': {
			return {...state, error: action.reason};
		}

		case 'move': {
			const count = state.runs?.length ?? 0;
			return {...state, cursor: Math.max(0, Math.min(state.cursor + action.delta, count - 1))};
		}
	}
}

/** A stored run as the run screen shows a finished one: every target with its outcome and output. */
export function storedRunState(run: StoredRun): RunState {
	const agents: RunState['agents'] = {};
	for (const result of run.results) {
		agents[result.agent] = {name: result.agent, phase: result.status, output: result.stdout + result.stderr, result};
	}

	return {requestId: run.header.requestId, script: run.header.script, order: run.results.map(result => result.agent), agents, finished: true};
}

export function useHistoryState() {
	return useReducer(reduceHistory, initialHistoryState);
}
