/** The fleet screen's keys as the console answers them: each opens a screen, asks the fleet again, or quits. */
import type {Dispatch} from 'react';
import {useFleet} from './screens/fleet/use-fleet.js';
import {selectedAgent, visibleAgents, type FleetAction, type FleetState} from './screens/fleet/use-fleet-state.js';
import type {ConsoleAction, ConsoleState} from './use-console-state.js';

export type ConsoleFleetPorts = {
	/** Asks the fleet again (not in the background: every agent shows it is being asked). */
	discover: (background: boolean) => Promise<void>;
	exit: (status: number) => void;
};

export function useConsoleFleet(state: ConsoleState, dispatch: Dispatch<ConsoleAction>, fleet: FleetState, dispatchFleet: Dispatch<FleetAction>, ports: ConsoleFleetPorts): void {
	useFleet(fleet, dispatchFleet, {
		onOpen() {
			const agent = selectedAgent(fleet);
			if (agent) {
				dispatch({type: 'show', screen: {name: 'agent', agent: agent.name}});
			}
		},
		onRun() {
			dispatch({type: 'open-run', targets: visibleAgents(fleet)});
		},
		onPair() {
			dispatch({type: 'open-pairing'});
		},
		onRefresh() {
			dispatchFleet({type: 'rediscover'});
			void ports.discover(false);
		},
		onAudit() {
			dispatch({type: 'show', screen: {name: 'audit', back: {name: 'fleet'}}});
		},
		onHistory() {
			dispatch({type: 'open-history'});
		},
		onHelp() {
			dispatch({type: 'show', screen: {name: 'help', place: fleet.editingFilter ? 'filter' : 'fleet', back: {name: 'fleet'}}});
		},
		onQuit() {
			ports.exit(0);
		},
	}, state.screen.name === 'fleet');
}
