/** Sends a `cancel` frame for a request to agents, each on its own connection, and gathers how each answered. */
import {exchange, type AgentTarget, type ClientContext} from './agent-connection.js';
import {mapLimited} from './pool.js';

export type CancelAnswer = {agent: string; outcome: 'cancelled' | 'not running' | 'unreachable'; reason?: string};

export async function cancelRun(targets: readonly AgentTarget[], requestId: string, caller: string, context: ClientContext): Promise<CancelAnswer[]> {
	return mapLimited(targets, 64, async target => {
		const end = await exchange(target, {type: 'cancel', id: requestId, caller}, {context, connectTimeoutMs: 5000, deadlineMs: 10_000});
		if (end.kind === 'terminal' && end.frame.type === 'ack') {
			return {agent: target.name, outcome: end.frame.found ? 'cancelled' : 'not running'};
		}

		const reason = end.kind === 'terminal' ? (end.frame.type === 'error' ? end.frame.message : `unexpected ${end.frame.type} frame`) : (end.kind === 'deadline' ? 'no answer' : end.reason);
		return {agent: target.name, outcome: 'unreachable', reason};
	});
}
