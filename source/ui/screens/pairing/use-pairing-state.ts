/**
 * The pairing screen's state: pending requests as they arrive, the code the operator types for
 * the selected one, and the last outcome. The controller's code appears only in a `match`. Pure.
 */
import {useReducer} from 'react';
import type {Approval, PairingEvent, PendingRequest} from '../../../pairing/listener.js';

export type PairingMessage =
	| {kind: 'match'; agent: string; agentCode: string; controllerCode: string}
	| {kind: 'mismatch'; agent: string; text: string}
	| {kind: 'info'; text: string}
	| {kind: 'refused'; text: string};

export type PairingScreenState = {
	address?: string;
	error?: string;
	requests: PendingRequest[];
	cursor: number;
	code: string;
	message?: PairingMessage;
	paired: string[];
};

export type PairingAction =
	| {type: 'event'; event: PairingEvent}
	| {type: 'failed'; reason: string}
	| {type: 'type'; text: string}
	| {type: 'erase'}
	| {type: 'move'; delta: number}
	| {type: 'approval'; agent: string; approval: Approval}
	/** Enter before six digits are typed: said here, and no try of the three is spent. */
	| {type: 'incomplete'};

export const initialPairingState: PairingScreenState = {requests: [], cursor: 0, code: '', paired: []};

export function reducePairing(state: PairingScreenState, action: PairingAction): PairingScreenState {
	switch (action.type) {
		case 'event': {
			return reduceEvent(state, action.event);
		}

		case 'failed': {
			return {...state, error: action.reason};
		}

		case 'type': {
			const digits = action.text.replace(/[^\d]/g, '');
			// At most the six digits of a code, however many were typed or pasted.
			// A new attempt: the last "does not match" is no longer about what is typed.
			return digits.length === 0 ? state : {...state, code: (state.code.replace(/\s/g, '') + digits).slice(0, 6), message: state.message?.kind === 'mismatch' ? undefined : state.message};
		}

		case 'erase': {
			return {...state, code: state.code.slice(0, -1), message: state.message?.kind === 'mismatch' ? undefined : state.message};
		}

		case 'incomplete': {
			const agent = state.requests[state.cursor]?.agent ?? '';
			return {...state, message: {kind: 'mismatch', agent, text: `type the 6 digits the agent shows, then Enter (${state.code.length} typed; no try was spent)`}};
		}

		case 'move': {
			return {...state, code: '', cursor: clamp(state.cursor + action.delta, state.requests.length)};
		}

		case 'approval': {
			const {approval} = action;
			return approval.ok
				? {...state, code: '', message: {kind: 'match', agent: action.agent, agentCode: approval.agentCode, controllerCode: approval.controllerCode}}
				: {...state, code: '', message: {kind: 'mismatch', agent: action.agent, text: approval.reason}};
		}
	}
}

function reduceEvent(state: PairingScreenState, event: PairingEvent): PairingScreenState {
	switch (event.event) {
		case 'listening': {
			return {...state, address: event.address};
		}

		case 'request': {
			const {event: _kind, ...request} = event;
			return {...state, requests: [...state.requests, request]};
		}

		case 'paired': {
			return withoutRequest({...state, paired: [...state.paired, event.agent], message: {kind: 'info', text: `${event.agent} is paired and in the registry.`}}, event.agent);
		}

		case 'refused': {
			const who = event.agent ?? `a request from ${event.source}`;
			return withoutRequest({...state, message: {kind: 'refused', text: `${who} refused: ${event.reason}`}}, event.agent);
		}

		default: {
			return state;
		}
	}
}

function withoutRequest(state: PairingScreenState, agent: string | null): PairingScreenState {
	if (agent === null) {
		return state;
	}

	const requests = state.requests.filter(request => request.agent !== agent);
	return {...state, requests, cursor: clamp(state.cursor, requests.length), code: requests.length === state.requests.length ? state.code : ''};
}

function clamp(cursor: number, length: number): number {
	return Math.max(0, Math.min(cursor, length - 1));
}

export function usePairingState() {
	return useReducer(reducePairing, initialPairingState);
}
