/**
 * The fleet's discovery: the registry read and every agent asked at once, then again every
 * `refreshMs` in the background (0: never); one discovery at a time (g, the background refresh
 * and the pairing screen's return share it). Returns the way to ask again (`background`: agents
 * keep what is known of them until they answer).
 */
import {useCallback, useEffect, useRef, type Dispatch} from 'react';
import type {ConsoleCore} from './core.js';
import type {FleetAction} from './screens/fleet/use-fleet-state.js';

export function useFleetDiscovery(core: ConsoleCore, dispatchFleet: Dispatch<FleetAction>, refreshMs: number): (background: boolean) => Promise<void> {
	const discovering = useRef(false);
	const discover = useCallback(async (background: boolean) => {
		if (discovering.current) {
			return;
		}

		discovering.current = true;
		try {
			const agents = await core.loadAgents();
			dispatchFleet(background ? {type: 'agents-refreshed', agents} : {type: 'agents-loaded', agents});
			await core.discover(agents, view => {
				dispatchFleet({type: 'agent-discovered', view});
			});
		} finally {
			discovering.current = false;
		}
	}, [core, dispatchFleet]);
	useEffect(() => {
		void discover(false);
		if (refreshMs <= 0) {
			return;
		}

		const timer = setInterval(() => {
			void discover(true);
		}, refreshMs);
		return () => {
			clearInterval(timer);
		};
	}, [discover, refreshMs]);
	return discover;
}
