/**
 * One request on many agents: at most `parallel` at once, each with its own timeout, every event
 * streamed as it happens, and exactly one result per target (in target order) at the end. After a
 * cancel, targets not yet dialled end as `skipped`.
 */
import type {SecureContext} from 'node:tls';
import type {AgentTarget} from './agent-connection.js';
import type {AgentResult, RunEvent} from './events.js';
import {mapLimited} from './pool.js';
import {runOnAgent, type AgentRunRequest} from './run-agent.js';

export type DispatchOptions = {
	context: SecureContext;
	parallel: number;
	connectTimeoutMs?: number;
	answerGraceMs?: number;
	cancel?: AbortSignal;
	emit?: (event: RunEvent) => void;
};

export async function dispatch(targets: readonly AgentTarget[], request: AgentRunRequest, options: DispatchOptions): Promise<AgentResult[]> {
	const emit = options.emit ?? (() => undefined);
	const cancel = options.cancel ?? new AbortController().signal;
	emit({type: 'run-started', requestId: request.requestId, script: request.script, args: request.args, targets: targets.map(target => target.name)});
	const results = await mapLimited(targets, options.parallel, async target => {
		const result: AgentResult = cancel.aborted
			? {agent: target.name, status: 'skipped', exitCode: null, signal: null, stdout: '', stderr: '', truncated: false, durationMs: 0, reason: 'not started: the run was cancelled'}
			: await runOnAgent(target, request, {
				context: options.context,
				connectTimeoutMs: options.connectTimeoutMs ?? 5000,
				answerGraceMs: options.answerGraceMs ?? 10_000,
				cancel,
				emit,
			});
		emit({type: 'agent-finished', result});
		return result;
	});
	emit({type: 'run-finished', requestId: request.requestId});
	return results;
}
