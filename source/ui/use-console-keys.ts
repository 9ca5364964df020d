/**
 * The keys the console shell answers itself: any key leaves help; an agent's details (Esc, r, h, ?);
 * the fleet's keys that open the screens added to the console; and Ctrl-C, which quits with 130
 * (while a run is going it asks first: the run is cancelled as the console leaves).
 */
import type {Dispatch} from 'react';
import type {ConsoleExtension} from './extensions.js';
import {useKeys} from './keys.js';
import type {FleetAgent} from './screens/fleet/use-fleet-state.js';
import {somethingGoing, type ConsoleAction, type ConsoleState} from './use-console-state.js';

export type ConsoleKeysContext = {
	/** The agent whose details are shown, as the fleet knows it now. */
	detailsAgent: FleetAgent | undefined;
	/** The screens added to the console, when the fleet shows its list (not while a filter is typed). */
	extensions: readonly ConsoleExtension[];
	editingFilter: boolean;
	exit: (status: number) => void;
};

export function useConsoleKeys(state: ConsoleState, dispatch: Dispatch<ConsoleAction>, context: ConsoleKeysContext): void {
	const {screen} = state;
	useKeys((input, key) => {
		if (screen.name === 'help') {
			dispatch({type: 'show', screen: screen.back});
		} else if (screen.name === 'agent' && (key.escape || input === 'q' || key.return)) {
			dispatch({type: 'back'});
		} else if (screen.name === 'agent' && input === 'r' && context.detailsAgent) {
			dispatch({type: 'open-run', targets: [context.detailsAgent]});
		} else if (screen.name === 'agent' && input === 'h') {
			dispatch({type: 'open-history', filter: {text: '', agent: screen.agent}});
		} else if (screen.name === 'agent' && input === '?') {
			dispatch({type: 'show', screen: {name: 'help', place: 'agent', back: screen}});
		}
	}, screen.name === 'help' || screen.name === 'agent');

	useKeys(input => {
		const extension = context.extensions.find(offered => offered.key === input);
		if (extension) {
			dispatch({type: 'open-extension', extension});
		}
	}, screen.name === 'fleet' && !context.editingFilter && context.extensions.length > 0);

	useKeys((input, key) => {
		if (key.ctrl && input === 'c') {
			if (somethingGoing(state) && !state.quitAsked) {
				dispatch({type: 'quit-asked'});
			} else {
				context.exit(130);
			}
		} else {
			dispatch({type: 'quit-kept'});
		}
	});
}
