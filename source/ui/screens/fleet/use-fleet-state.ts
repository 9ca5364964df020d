/**
 * The fleet screen's state: the agents, the live filter, and the cursor. Each agent is the core's
 * agents view (core/agents-view.ts: the document `agents --json`, GET /v1/agents and MCP
 * `list_agents` give), `checking` until it has answered; what a run learns of a host updates it.
 * A pure reducer over a discriminated union of actions.
 */
import {useReducer} from 'react';
import {filterBySelector} from '../../../policy/selector.js';
import {agentViews, seenViaOf, type AgentView} from '../../../core/agents-view.js';
import type {AgentRecord, SeenVia} from '../../../registry/model.js';
import {byName} from '../../name-order.js';

/** An agent as the fleet shows it: the core's view of it, `checking` while it is asked. */
export type FleetAgent = Omit<AgentView, 'status'> & {status: AgentView['status'] | 'checking'};

/**
 * When it was last seen, in ms: its last answer (discovery or a run) or, for a relay agent whose
 * broker is watched, its last signed presence heartbeat when later (as core/agents-view.ts's
 * seenText counts them); undefined when never.
 */
export function seenAt(agent: Pick<AgentView, 'lastSeen' | 'relayPresence'>): number | undefined {
	const times = [agent.lastSeen, agent.relayPresence?.state === 'unwatched' ? null : agent.relayPresence?.lastHeartbeat]
		.filter((time): time is string => typeof time === 'string')
		.map(time => Date.parse(time))
		.filter(time => !Number.isNaN(time));
	return times.length === 0 ? undefined : Math.max(...times);
}

/** An agent not asked yet: the core's view of its registry record with nothing found, `checking`. */
export function checkingAgent(record: AgentRecord): FleetAgent {
	const [view] = agentViews([record], [{name: record.name, address: record.address, status: 'unreachable', scripts: []}], new Date(0).toISOString());
	return {...view!, status: 'checking'};
}

export type FleetState = {
	agents: FleetAgent[];
	loaded: boolean;
	filter: string;
	editingFilter: boolean;
	cursor: number;
};

export type FleetAction =
	| {type: 'agents-loaded'; agents: AgentRecord[]}
	/** The registry read again for a background refresh: agents keep what is known of them until they answer. */
	| {type: 'agents-refreshed'; agents: AgentRecord[]}
	/** An agent answered (or did not): the core's view of it now. */
	| {type: 'agent-discovered'; view: AgentView}
	/** A run's outcome for a host: it answered (whatever its status, over `via`), or it was unreachable. */
	| {type: 'agent-ran'; name: string; reachable: boolean; reason?: string; via?: SeenVia; at: number}
	| {type: 'rediscover'}
	| {type: 'filter-start'}
	| {type: 'filter-type'; text: string}
	| {type: 'filter-erase'}
	| {type: 'filter-done'}
	| {type: 'filter-clear'}
	| {type: 'move'; delta: number};

export const initialFleetState: FleetState = {agents: [], loaded: false, filter: '', editingFilter: false, cursor: 0};

/**
 * The filter is a selector, in the grammar of `--on` (policy/selector.ts): clauses separated by
 * spaces (any of them), `key=value,key=value` (all of them), `web[1-4]`, `web*`, `!db2`. While it
 * is typed, the clause being typed matches as a prefix (`role=w` as `role=w*`), so the table
 * narrows as you type; once kept (Enter), it means exactly what `--on` would.
 */
export function filterSelection(state: FleetState): {ok: true; agents: FleetAgent[]} | {ok: false; reason: string} {
	const text = state.editingFilter && /[a-z\d.-]$/i.test(state.filter) ? `${state.filter}*` : state.filter;
	return filterBySelector(text, state.agents);
}

/** The registry's agents as the fleet lists them: by name, numbers by value (web2 before web10). */
function inNameOrder(records: readonly AgentRecord[]): AgentRecord[] {
	return [...records].sort((a, b) => byName(a.name, b.name));
}

export function visibleAgents(state: FleetState): FleetAgent[] {
	const selection = filterSelection(state);
	return selection.ok ? selection.agents : [];
}

/** The tag keys the filter names: shown first in the TAGS column, so a narrow terminal never cuts them. */
export function filterTagKeys(filter: string): string[] {
	return [...new Set(filter.split(/[\s,]+/).flatMap(term => {
		const equals = term.indexOf('=');
		return equals > 0 ? [term.replace(/^!/, '').slice(0, term.replace(/^!/, '').indexOf('='))] : [];
	}))];
}

export function selectedAgent(state: FleetState): FleetAgent | undefined {
	return visibleAgents(state)[state.cursor];
}

export function reduceFleet(state: FleetState, action: FleetAction): FleetState {
	switch (action.type) {
		case 'agents-loaded': {
			return clampCursor({...state, loaded: true, agents: inNameOrder(action.agents).map(record => checkingAgent(record))});
		}

		case 'agents-refreshed': {
			// Known agents are shown as they last answered until they answer again; new ones are checked.
			const known = new Map(state.agents.map(agent => [agent.name, agent]));
			return clampCursor({...state, loaded: true, agents: inNameOrder(action.agents).map(record => known.get(record.name) ?? checkingAgent(record))});
		}

		case 'agent-discovered': {
			const {view} = action;
			return {...state, agents: state.agents.map(agent => (agent.name === view.name ? view : agent))};
		}

		case 'agent-ran': {
			return {
				...state,
				agents: state.agents.map(agent => {
					if (agent.name !== action.name) {
						return agent;
					}

					// An agent that answered a run keeps the scripts it described; one that did not is unreachable now.
					return action.reachable
						? {...agent, status: 'reachable', reason: null, lastSeen: new Date(action.at).toISOString(), lastSeenVia: action.via ?? seenViaOf(agent.transport) ?? null}
						: {...agent, status: 'unreachable', reason: action.reason ?? null, scripts: []};
				}),
			};
		}

		case 'rediscover': {
			return {...state, agents: state.agents.map(agent => ({...agent, status: 'checking'}))};
		}

		case 'filter-start': {
			return {...state, editingFilter: true};
		}

		case 'filter-type': {
			return clampCursor({...state, filter: state.filter + action.text, cursor: 0});
		}

		case 'filter-erase': {
			return clampCursor({...state, filter: state.filter.slice(0, -1), cursor: 0});
		}

		case 'filter-done': {
			return {...state, editingFilter: false};
		}

		case 'filter-clear': {
			return clampCursor({...state, filter: '', editingFilter: false});
		}

		case 'move': {
			// ±Infinity (Home, End) lands on an end.
			return clampCursor({...state, cursor: Math.max(-1, Math.min(state.cursor + action.delta, Number.MAX_SAFE_INTEGER))});
		}
	}
}

function clampCursor(state: FleetState): FleetState {
	const count = visibleAgents(state).length;
	const cursor = Math.max(0, Math.min(state.cursor, count - 1));
	return cursor === state.cursor ? state : {...state, cursor};
}

export function useFleetState() {
	return useReducer(reduceFleet, initialFleetState);
}
