/**
 * The audit screen's state: what it asked for (every request, or one run's), the records and the
 * chain's status the core read, and how far up the list is scrolled (0: the most recent). Pure.
 */
import {useReducer} from 'react';
import type {AuditView} from '../../core.js';

export type AuditScreenState = {
	requestId?: string;
	loading: boolean;
	view?: AuditView;
	error?: string;
	/** Rows scrolled up from the bottom (the most recent record). */
	scroll: number;
};

export type AuditAction =
	| {type: 'loading'}
	| {type: 'loaded'; view: AuditView}
	| {type: 'failed'; reason: string}
	| {type: 'scroll'; delta: number; rows: number}
	| {type: 'show-all'};

export function initialAuditState(requestId?: string): AuditScreenState {
	return {...(requestId === undefined ? {} : {requestId}), loading: true, scroll: 0};
}

export function reduceAudit(state: AuditScreenState, action: AuditAction): AuditScreenState {
	switch (action.type) {
		case 'loading': {
			return {...state, loading: true};
		}

		case 'loaded': {
			const {error: _error, ...rest} = state;
			return {...rest, loading: false, view: action.view, scroll: 0};
		}

		case 'failed': {
			return {...state, loading: false, error: action.reason};
		}

		case 'scroll': {
			const hidden = Math.max(0, (state.view?.records.length ?? 0) - action.rows);
			return {...state, scroll: Math.max(0, Math.min(state.scroll + action.delta, hidden))};
		}

		case 'show-all': {
			return state.requestId === undefined ? state : initialAuditState();
		}
	}
}

/** The rows shown: `rows` records ending `scroll` rows above the most recent. */
export function shownRecords(state: AuditScreenState, rows: number): AuditView['records'] {
	const records = state.view?.records ?? [];
	const end = records.length - state.scroll;
	return records.slice(Math.max(0, end - rows), end);
}

export function useAuditState(requestId?: string) {
	return useReducer(reduceAudit, requestId, initialAuditState);
}
