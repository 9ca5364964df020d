import type {AgentResult} from '../../source/run/events.js';

/** An agent's result with every field set; `changes` overrides some. */
export function agentResult(agent: string, changes: Partial<AgentResult> = {}): AgentResult {
	return {agent, status: 'ok', exitCode: 0, signal: null, stdout: '', stderr: '', truncated: false, durationMs: 0, ...changes};
}
