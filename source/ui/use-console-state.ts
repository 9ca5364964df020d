/**
 * The console shell's state: which screen is shown (and what it came from), what the run screen
 * and a screen added to the console say of themselves, the pairing listener left open, and whether
 * Ctrl-C has asked before quitting a run that is going. Pure, apart from the `useReducer` at the end.
 */
import {useReducer} from 'react';
import type {StoredRun} from '../history/run-record.js';
import type {ConsoleExtension} from './extensions.js';
import type {KeyPlace, KeyRow} from './key-help.js';
import type {FleetAgent} from './screens/fleet/use-fleet-state.js';
import type {HistoryFilter} from './screens/history/run-search.js';
import type {RunEntry, RunStatus} from './screens/run/run-screen.js';

/** A run screen: on these targets, or a past run from the history (shown finished; f reruns from it). */
export type RunScreenEntry = RunEntry & {name: 'run'; history?: HistoryEntry};
/** The run history, searched as it was left (`filter`); from an agent's details, that agent's runs only. */
export type HistoryEntry = {name: 'history'; filter?: HistoryFilter};
/** A screen another part of the product added (extensions.tsx). */
export type ExtensionEntry = {name: 'extension'; extension: ConsoleExtension};
export type Screen =
	| {name: 'fleet'}
	| {name: 'agent'; agent: string}
	| RunScreenEntry
	| HistoryEntry
	| {name: 'pairing'}
	| {name: 'audit'; requestId?: string; back: Screen}
	| ExtensionEntry
	| {name: 'help'; place: KeyPlace; extension?: ConsoleExtension; back: Screen};

/** What a screen added to the console says of itself: the keys of its step, whether a run of its is going. */
export type ExtensionStatus = {keys: readonly KeyRow[]; going: boolean};

/**
 * The pairing listener, once opened with p, stays open while the screen is left with `l` (a notice
 * on every screen counts the requests waiting); Esc on the pairing screen closes it.
 */
export type PairingStatus = {open: boolean; pending: number};

export type ConsoleState = {
	screen: Screen;
	/** Run screens opened so far: each new one is a new screen (`id`), not the last one's state. */
	runs: number;
	runStatus: RunStatus;
	extensionStatus?: ExtensionStatus;
	pairing: PairingStatus;
	/** Whether the history's search is being typed (its footer and help differ). */
	historySearching: boolean;
	/** Ctrl-C while a run is going asked first; any other key takes the question back. */
	quitAsked: boolean;
};

export type ConsoleAction =
	/** A screen as it is (back from help or audit, an agent's details). */
	| {type: 'show'; screen: Screen}
	/** Back to the fleet. */
	| {type: 'back'}
	| {type: 'open-run'; targets: FleetAgent[]; past?: StoredRun; history?: HistoryEntry}
	| {type: 'open-history'; filter?: HistoryFilter}
	| {type: 'open-extension'; extension: ConsoleExtension}
	| {type: 'open-pairing'}
	/** Esc on the pairing screen: the listener closes and the fleet is shown. */
	| {type: 'close-pairing'}
	| {type: 'pairing-pending'; pending: number}
	| {type: 'run-status'; status: RunStatus}
	| {type: 'extension-status'; status: ExtensionStatus}
	| {type: 'history-searching'; editing: boolean}
	/** Ctrl-C while something is going: ask before quitting. */
	| {type: 'quit-asked'}
	/** Any other key after the question: stay. */
	| {type: 'quit-kept'};

export const initialConsole: ConsoleState = {
	screen: {name: 'fleet'},
	runs: 0,
	runStatus: {place: 'pick', going: false},
	pairing: {open: false, pending: 0},
	historySearching: false,
	quitAsked: false,
};

export function reduceConsole(state: ConsoleState, action: ConsoleAction): ConsoleState {
	switch (action.type) {
		case 'show': {
			return {...state, screen: action.screen};
		}

		case 'back': {
			return {...state, screen: {name: 'fleet'}};
		}

		case 'open-run': {
			const {targets, past, history} = action;
			const runs = state.runs + 1;
			const screen: RunScreenEntry = {name: 'run', targets, ...(past ? {past} : {}), ...(history ? {history} : {}), id: runs};
			return {...state, runs, screen, runStatus: {place: past ? 'finished' : 'pick', going: false}};
		}

		case 'open-history': {
			return {...state, historySearching: false, screen: action.filter ? {name: 'history', filter: action.filter} : {name: 'history'}};
		}

		case 'open-extension': {
			const {extensionStatus: _forgotten, ...rest} = state;
			return {...rest, screen: {name: 'extension', extension: action.extension}};
		}

		case 'open-pairing': {
			return {...state, pairing: {...state.pairing, open: true}, screen: {name: 'pairing'}};
		}

		case 'close-pairing': {
			return {...state, pairing: {open: false, pending: 0}, screen: {name: 'fleet'}};
		}

		default: {
			return reduceStatus(state, action);
		}
	}
}

/** What the screens say of themselves, and the quit question: nothing changes when nothing did. */
function reduceStatus(state: ConsoleState, action: ConsoleAction): ConsoleState {
	switch (action.type) {
		case 'pairing-pending': {
			return state.pairing.pending === action.pending ? state : {...state, pairing: {...state.pairing, pending: action.pending}};
		}

		case 'run-status': {
			const {place, going} = action.status;
			return state.runStatus.place === place && state.runStatus.going === going ? state : {...state, runStatus: action.status};
		}

		case 'extension-status': {
			const {keys, going} = action.status;
			return state.extensionStatus?.keys === keys && state.extensionStatus.going === going ? state : {...state, extensionStatus: action.status};
		}

		case 'history-searching': {
			return state.historySearching === action.editing ? state : {...state, historySearching: action.editing};
		}

		case 'quit-asked': {
			return {...state, quitAsked: true};
		}

		case 'quit-kept': {
			return state.quitAsked ? {...state, quitAsked: false} : state;
		}

		default: {
			return state;
		}
	}
}

/** Whether something the operator started is going on the screen shown (Ctrl-C then asks first). */
export function somethingGoing(state: ConsoleState): boolean {
	return (state.runStatus.going && state.screen.name === 'run') || (state.screen.name === 'extension' && state.extensionStatus?.going === true);
}

/**
 * The run screen to keep mounted: the one shown, or the one under its audit records or its help
 * (Esc comes back to it as it was, its run going on).
 */
export function runEntryOf(screen: Screen): RunScreenEntry | undefined {
	if (screen.name === 'run') {
		return screen;
	}

	return (screen.name === 'audit' || screen.name === 'help') && screen.back.name === 'run' ? screen.back : undefined;
}

/** A screen added to the console stays mounted under its help too (a runbook it runs goes on). */
export function extensionEntryOf(screen: Screen): ExtensionEntry | undefined {
	if (screen.name === 'extension') {
		return screen;
	}

	return screen.name === 'help' && screen.back.name === 'extension' ? screen.back : undefined;
}

/** The header's word on the pairing listener left open (none on the pairing screen itself, or when closed). */
export function pairingNotice(pairing: PairingStatus, screen: Screen): string {
	if (!pairing.open || screen.name === 'pairing') {
		return '';
	}

	const waiting = pairing.pending > 0 ? ` · ${pairing.pending} ${pairing.pending === 1 ? 'request waits' : 'requests wait'}` : '';
	return `pairing: listening${waiting} (p)`;
}

export function useConsoleState() {
	return useReducer(reduceConsole, initialConsole);
}
