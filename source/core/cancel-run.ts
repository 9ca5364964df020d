/**
 * Cancels a run from anywhere (another terminal, the API): a `cancel` frame to each of its agents
 * that has not answered yet, as the run's history has it while it streams, and one audit record
 * saying who cancelled and which hosts were still running. `xi-exec cancel ID`,
 * `POST /v1/runs/{id}/cancel` and the MCP face all go through `cancelRecordedRun`.
 */
import type {ClientContext} from '../dispatch/agent-connection.js';
import type {AuditFields} from '../audit/record.js';
import type {AuditLog} from '../audit/file-log.js';
import {cancelRun, type CancelAnswer} from '../dispatch/cancel.js';
import type {ControllerPaths} from '../home.js';
import type {StoredRun} from '../history/run-record.js';
import {findRun, historyDirectory} from '../history/run-store.js';
import type {RegistryStore} from '../registry/store.js';

export type {CancelAnswer} from '../dispatch/cancel.js';

/** The hosts of a stored run with no result yet (the controller that runs it has not heard from them). */
export function hostsWithoutResult(run: StoredRun): string[] {
	const answered = new Set(run.results.filter(result => !(result.status === 'error' && result.reason?.startsWith('no result was recorded'))).map(result => result.agent));
	return run.header.targets.filter(name => !answered.has(name));
}

/** The controller's record of a cancel: who, from where, and how each host still running answered. */
export function cancelRecord(requestId: string, caller: string, answers: readonly CancelAnswer[], source?: string): AuditFields {
	return {
		event: 'run.cancel',
		requestId,
		caller,
		source,
		stillRunning: answers.filter(answer => answer.outcome === 'cancelled').map(answer => answer.agent),
		unreachable: answers.filter(answer => answer.outcome === 'unreachable').map(answer => answer.agent),
	};
}

export type CancelPorts = {paths: ControllerPaths; registry: RegistryStore; audit: () => AuditLog; context: ClientContext};

/**
 * Cancels a run by its request id, from its history: each host without a result is asked to
 * cancel (its whole process group is killed and it answers `cancelled`). Nothing to cancel is
 * not an error (and not recorded); a cancel sent is recorded.
 */
export async function cancelRecordedRun(ports: CancelPorts, input: {requestId: string; caller: string; source?: string}): Promise<{run: StoredRun; answers: CancelAnswer[]}> {
	const run = findRun(historyDirectory(ports.paths), input.requestId);
	const waiting = new Set(hostsWithoutResult(run));
	const registry = await ports.registry.read();
	const targets = registry.agents.filter(agent => waiting.has(agent.name));
	if (targets.length === 0) {
		return {run, answers: []};
	}

	const answers = await cancelRun(targets, input.requestId, input.caller, ports.context);
	await ports.audit().append(cancelRecord(input.requestId, input.caller, answers, input.source));
	return {run, answers};
}
