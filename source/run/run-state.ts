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
			const agents: Record<string, AgentRunState> = {};
			for (const name of event.targets) {
				agents[name] = {name, phase: 'queued', output: ''};
			}

			return {requestId: event.requestId, script: event.script, order: [...event.targets], agents, finished: false};
		}

		case 'agent-connecting': {
			return withAgent(state, event.agent, agent => ({...agent, phase: 'connecting'}));
		}

		case 'agent-started': {
			return withAgent(state, event.agent, agent => ({...agent, phase: 'running'}));
		}

		case 'agent-output': {
			return withAgent(state, event.agent, agent => ({...agent, output: (agent.output + event.data).slice(-outputTailChars)}));
		}

		case 'agent-finished': {
			return withAgent(state, event.result.agent, agent => ({...agent, phase: event.result.status, result: event.result}));
		}

		case 'run-finished': {
			return {...state, finished: true};
		}
	}
}

function withAgent(state: RunState, name: string, change: (agent: AgentRunState) => AgentRunState): RunState {
	// Own properties only: an event naming `constructor` or `__proto__` must not find Object's.
	const agent = Object.hasOwn(state.agents, name) ? state.agents[name] : undefined;
	return agent ? {...state, agents: {...state.agents, [name]: change(agent)}} : state;
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
