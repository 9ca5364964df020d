/** Where the operator is in the console: the header's screen name, and the footer's place (key-help.ts). Pure. */
import type {KeyPlace, KeyRow} from './key-help.js';
import type {Screen} from './use-console-state.js';
import type {RunStatus} from './screens/run/run-screen.js';

export function screenTitle(screen: Screen): string {
	return {fleet: 'fleet', agent: 'agent', run: 'run', history: 'history', pairing: 'pairing', audit: 'audit', help: 'help', extension: 'extension'}[screen.name];
}

/** Where the operator is, for the footer: a place of key-help.ts, or the keys of a screen added to the console. */
export function placeOf(screen: Screen, run: RunStatus, editingFilter: boolean, extensionKeys: readonly KeyRow[] | undefined, historySearching: boolean): KeyPlace | readonly KeyRow[] {
	switch (screen.name) {
		case 'extension': {
			return extensionKeys ?? screen.extension.keys;
		}

		case 'help': {
			return 'help';
		}

		case 'fleet': {
			return editingFilter ? 'filter' : 'fleet';
		}

		case 'run': {
			return run.place;
		}

		case 'audit': {
			return screen.requestId === undefined ? 'audit' : 'audit-run';
		}

		case 'history': {
			return historySearching ? 'history-search' : 'history';
		}

		default: {
			return screen.name;
		}
	}
}
