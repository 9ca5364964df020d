/**
 * A host's whole output, as a pager keeps it: the first line shown, whether it follows the end
 * (live output keeps arriving), and a search (`/`, then n and N). The lines themselves are the
 * view's (output-lines.ts); actions that need them carry them. Pure.
 */
import {useReducer} from 'react';

export type OutputState = {
	top: number;
	/** At the end and staying there as lines arrive (as `tail -f`), until the operator scrolls up. */
	follow: boolean;
	search: string;
	editing: boolean;
	notice?: string;
};

export type OutputAction =
	| {type: 'scroll'; delta: number; lines: number; rows: number}
	| {type: 'search-start'}
	| {type: 'search-type'; text: string}
	| {type: 'search-erase'}
	| {type: 'search-cancel'}
	/** Enter on the search, n or N: the next (or previous) line holding the text, from the top one shown. */
	| {type: 'find'; direction: 1 | -1; lines: readonly string[]; rows: number};

export const initialOutputState: OutputState = {top: 0, follow: true, search: '', editing: false};

/** The first line shown, for `count` lines in `rows` rows; following the end when asked. */
export function topLine(state: OutputState, count: number, rows: number): number {
	const last = Math.max(0, count - rows);
	return state.follow ? last : Math.min(state.top, last);
}

export function reduceOutput(state: OutputState, action: OutputAction): OutputState {
	switch (action.type) {
		case 'scroll': {
			const last = Math.max(0, action.lines - action.rows);
			const top = Math.max(0, Math.min(topLine(state, action.lines, action.rows) + action.delta, last));
			return {...state, top, follow: top === last, notice: undefined};
		}

		case 'search-start': {
			return {...state, editing: true, search: '', notice: undefined};
		}

		case 'search-type': {
			return {...state, search: state.search + action.text};
		}

		case 'search-erase': {
			return {...state, search: state.search.slice(0, -1)};
		}

		case 'search-cancel': {
			return {...state, editing: false, search: ''};
		}

		case 'find': {
			const editing = {...state, editing: false};
			if (state.search === '') {
				return editing;
			}

			const needle = state.search.toLowerCase();
			const from = topLine(state, action.lines.length, action.rows);
			const count = action.lines.length;
			// From the line after the top one (before it, for N), round the end.
			for (let step = 1; step <= count; step++) {
				const index = ((from + (action.direction * step)) % count + count) % count;
				if (action.lines[index]!.toLowerCase().includes(needle)) {
					const last = Math.max(0, count - action.rows);
					return {...editing, top: Math.min(index, last), follow: false, notice: index > last ? `line ${index + 1}` : undefined};
				}
			}

			// A match on the top line itself is still a match.
			return action.lines[from]?.toLowerCase().includes(needle) ? editing : {...editing, notice: `${JSON.stringify(state.search)} is not in this output`};
		}
	}
}

export function useOutputState() {
	return useReducer(reduceOutput, initialOutputState);
}
