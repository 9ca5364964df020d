/**
 * The fleet screen's state: the agents (registry records, then what discovery found), the live
 * filter, and the cursor. A pure reducer over a discriminated union of actions.
 */
import {useReducer} from 'react';
import type {Discovered} from '../../../dispatch/discover.js';
import {filterBySelector} from '../../../policy/selector.js';
import {sameTags} from '../../../policy/tags.js';
import type {ScriptDescription} from '../../../protocol/frames.js';
import {seenViaOf} from '../../../core/agents-view.js';
import type {AgentRecord} from '../../../registry/model.js';
import {byName} from '../../name-order.js';

export type FleetAgent = AgentRecord & {
	status: 'checking' | 'reachable' | 'unreachable';
	reason?: string;
	scripts: ScriptDescription[];
	/** The tags the agent reports about itself, once it answered; the registry's decide. */
	reportedTags?: Record<string, string>;
	/** When it last answered (discovery or a run), in ms; the registry's lastSeen until then. */
	seenAt?: number;
};

/** Whether an agent's own tags differ from the registry's (known once it answered). */
export function isDrifted(agent: FleetAgent): boolean {
	return agent.reportedTags !== undefined && !sameTags(agent.tags, agent.reportedTags);
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
	/** `at`: when the answer came (ms). */
	| {type: 'agent-discovered'; found: Discovered; at?: number}
	/** A run's outcome for a host: it answered (whatever its status), or it was unreachable. */
	| {type: 'agent-ran'; name: string; reachable: boolean; reason?: string; at: number}
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
			return clampCursor({...state, loaded: true, agents: inNameOrder(action.agents).map(record => ({
				...record,
				status: 'checking',
				scripts: [],
				...(record.lastSeen === undefined ? {} : {seenAt: Date.parse(record.lastSeen)}),
			}))});
		}

		case 'agents-refreshed': {
			const known = new Map(state.agents.map(agent => [agent.name, agent]));
			return clampCursor({...state, loaded: true, agents: inNameOrder(action.agents).map(record => {
				const agent = known.get(record.name);
				return agent ? {...agent, ...record, seenAt: agent.seenAt} : {...record, status: 'checking', scripts: []};
			})});
		}

		case 'agent-discovered': {
			const {found} = action;
			return {
				...state,
				agents: state.agents.map(agent => (agent.name === found.name
					? {...agent, status: found.status, scripts: found.scripts, reason: found.reason, reportedTags: found.reportedTags, ...(found.status === 'reachable' && action.at !== undefined ? {seenAt: action.at, lastSeenVia: found.via} : {})}
					: agent)),
			};
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
						? {...agent, status: 'reachable', reason: undefined, seenAt: action.at, lastSeenVia: seenViaOf(agent.transport)}
						: {...agent, status: 'unreachable', reason: action.reason, scripts: []};
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
