/**
 * A run's state as a reducer over its events: each agent's phase and output, and the counts that
 * make the summary line. Pure; the CLI, the console and the API all fold events through it.
 */
import type {RunStatus} from '../protocol/frames.js';
import type {AgentResult, RunEvent} from './events.js';

export type AgentPhase = 'queued' | 'connecting' | 'running' | RunStatus;

export type AgentRunState = {name: string; phase: AgentPhase; output: string; result?: AgentResult};

export type RunState = {
	requestId?: string;
	script?: string;
	order: string[];
	agents: Record<string, AgentRunState>;
	finished: boolean;
};

export const initialRunState: RunState = {order: [], agents: {}, finished: false};

/** Keep at most this much output per agent in the state (the full output stays in the result). */
export const outputTailChars = 64 * 1024;

export function reduceRun(state: RunState, event: RunEvent): RunState {
	switch (event.type) {
		case 'run-started': {
			return startedState(event);
		}

		case 'run-finished': {
			return {...state, finished: true};
		}

		default: {
			const name = agentOf(event);
			const agent = ownAgent(state, name);
			return agent ? {...state, agents: {...state.agents, [name]: changedAgent(agent, event)}} : state;
		}
	}
}

/**
 * The same state as reduceRun's, for an owner that only ever reads the latest (the CLI's progress
 * line): each event changes the per-host map in place, O(1), where reduceRun copies it (O(hosts)
 * an event, so O(hosts²) a run: about 1 s of CPU at 1,000 hosts). Each host's own state is still
 * a new object when it changes; the map and the run's state belong to the fold, and `state` is
 * not to be kept across events by anyone else (React's reducers keep older states: they use reduceRun).
 */
export type RunFold = {readonly state: RunState; add: (event: RunEvent) => void};

export function createRunFold(): RunFold {
	let state = initialRunState;
	return {
		get state() {
			return state;
		},
		add(event) {
			switch (event.type) {
				case 'run-started': {
					state = startedState(event);
					break;
				}

				case 'run-finished': {
					state = {...state, finished: true};
					break;
				}

				default: {
					const name = agentOf(event);
					const agent = ownAgent(state, name);
					if (agent) {
						// Never initialRunState's map: it has no own agents, so nothing gets here before run-started.
						state.agents[name] = changedAgent(agent, event);
					}
				}
			}
		},
	};
}

type AgentEvent = Exclude<RunEvent, {type: 'run-started' | 'run-finished'}>;

function startedState(event: Extract<RunEvent, {type: 'run-started'}>): RunState {
	const agents: Record<string, AgentRunState> = {};
	for (const name of event.targets) {
		agents[name] = {name, phase: 'queued', output: ''};
	}

	return {requestId: event.requestId, script: event.script, order: [...event.targets], agents, finished: false};
}

function agentOf(event: AgentEvent): string {
	return event.type === 'agent-finished' ? event.result.agent : event.agent;
}

/** Own properties only: an event naming `constructor` or `__proto__` must not find Object's. */
function ownAgent(state: RunState, name: string): AgentRunState | undefined {
	return Object.hasOwn(state.agents, name) ? state.agents[name] : undefined;
}

function changedAgent(agent: AgentRunState, event: AgentEvent): AgentRunState {
	switch (event.type) {
		case 'agent-connecting': {
			return {...agent, phase: 'connecting'};
		}

		case 'agent-started': {
			return {...agent, phase: 'running'};
		}

		case 'agent-output': {
			return {...agent, output: (agent.output + event.data).slice(-outputTailChars)};
		}

		case 'agent-finished': {
			return {...agent, phase: event.result.status, result: event.result};
		}
	}
}

export type Counts = Partial<Record<AgentPhase, number>>;

export function countPhases(state: RunState): Counts {
	const counts: Counts = {};
	for (const name of state.order) {
		const phase = state.agents[name]!.phase;
		counts[phase] = (counts[phase] ?? 0) + 1;
	}

	return counts;
}

export function countStatuses(results: readonly AgentResult[]): Partial<Record<RunStatus, number>> {
	const counts: Partial<Record<RunStatus, number>> = {};
	for (const result of results) {
		counts[result.status] = (counts[result.status] ?? 0) + 1;
	}

	return counts;
}
