/**
 * The approvals screen's state: the open requests (read again every few seconds), the selected
 * one, and what the operator is typing. Approving asks for the number of hosts to be typed (the
 * pairing screen's lesson: typing, not a yes/no glance, is the check); rejecting asks for a reason.
 * The decision itself is the core's; this only holds what the screen shows. Pure.
 */
import {useReducer} from 'react';
import type {ApprovalRequest} from '../../../approvals/request.js';

export type ApprovalsEntry = {kind: 'approve' | 'reject'; id: string; text: string};
export type ApprovalsMessage = {kind: 'good' | 'bad' | 'info'; text: string};

export type ApprovalsScreenState = {
	requests: ApprovalRequest[];
	loaded: boolean;
	/** The selected request, by id: it stays selected while the list changes around it. */
	selected?: string;
	entry?: ApprovalsEntry;
	message?: ApprovalsMessage;
	busy: boolean;
};

export type ApprovalsAction =
	| {type: 'loaded'; requests: ApprovalRequest[]}
	| {type: 'failed'; reason: string}
	| {type: 'move'; delta: number}
	| {type: 'start'; kind: ApprovalsEntry['kind']}
	| {type: 'type'; text: string}
	| {type: 'erase'}
	| {type: 'cancel'}
	| {type: 'sent'}
	| {type: 'done'; message: ApprovalsMessage};

export const initialApprovalsState: ApprovalsScreenState = {requests: [], loaded: false, busy: false};

export function reduceApprovals(state: ApprovalsScreenState, action: ApprovalsAction): ApprovalsScreenState {
	switch (action.type) {
		case 'loaded': {
			const {requests} = action;
			const selected = requests.some(request => request.id === state.selected) ? state.selected : requests[0]?.id;
			// A request that left the list (approved elsewhere, expired) takes its half-typed entry with it.
			const entry = state.entry && requests.some(request => request.id === state.entry!.id && request.state === 'pending') ? state.entry : undefined;
			return {...state, requests, loaded: true, ...(selected ? {selected} : {selected: undefined}), entry};
		}

		case 'failed': {
			return {...state, loaded: true, busy: false, message: {kind: 'bad', text: action.reason}};
		}

		case 'move': {
			if (state.entry || state.requests.length === 0) {
				return state;
			}

			const index = Math.max(0, state.requests.findIndex(request => request.id === state.selected));
			const next = Math.max(0, Math.min(state.requests.length - 1, index + action.delta));
			return {...state, selected: state.requests[next]!.id, message: undefined};
		}

		case 'start': {
			const request = selectedRequest(state);
			if (!request || state.busy) {
				return state;
			}

			if (request.state !== 'pending') {
				return {...state, message: {kind: 'info', text: `request ${request.id.slice(0, 8)} is ${request.state}; it waits for ${request.requester.token.name} to run it`}};
			}

			return {...state, entry: {kind: action.kind, id: request.id, text: ''}, message: undefined};
		}

		case 'type': {
			if (!state.entry) {
				return state;
			}

			const added = state.entry.kind === 'approve' ? action.text.replace(/\D/g, '') : action.text.replace(/[\u0000-\u001F\u007F-\u009F]/g, '');
			return {...state, entry: {...state.entry, text: (state.entry.text + added).slice(0, state.entry.kind === 'approve' ? 6 : 500)}, message: undefined};
		}

		case 'erase': {
			return state.entry ? {...state, entry: {...state.entry, text: state.entry.text.slice(0, -1)}} : state;
		}

		case 'cancel': {
			return {...state, entry: undefined, message: undefined};
		}

		case 'sent': {
			return {...state, busy: true};
		}

		case 'done': {
			return {...state, busy: false, entry: action.message.kind === 'good' ? undefined : state.entry, message: action.message};
		}
	}
}

export function selectedRequest(state: ApprovalsScreenState): ApprovalRequest | undefined {
	return state.requests.find(request => request.id === state.selected);
}

/**
 * What Enter does with the entry: approve only when the typed count is the request's number of
 * hosts, reject only with a reason; otherwise say what to type.
 */
export function entryOutcome(state: ApprovalsScreenState): {send: 'approve' | 'reject'; id: string; reason?: string} | {message: ApprovalsMessage} | undefined {
	const {entry} = state;
	const request = entry ? state.requests.find(candidate => candidate.id === entry.id) : undefined;
	if (!entry || !request) {
		return undefined;
	}

	if (entry.kind === 'reject') {
		return entry.text.trim() === '' ? {message: {kind: 'bad', text: 'type the reason the requester will read, then Enter'}} : {send: 'reject', id: entry.id, reason: entry.text.trim()};
	}

	const hosts = request.summary.targets.length;
	return entry.text === String(hosts) ? {send: 'approve', id: entry.id} : {message: {kind: 'bad', text: `type ${hosts}, the number of hosts this plan runs on, to approve it`}};
}

export function useApprovalsState() {
	return useReducer(reduceApprovals, initialApprovalsState);
}
