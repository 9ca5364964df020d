/**
 * The console's runs through the one run use case (resolvePlan, then executePlan: audited, fail
 * closed, witnessed, kept in the history, like `xi-exec run`), and its dry runs. Each opens the
 * audit log when it first needs it and keeps its describe's connections for the run (one
 * handshake a host), closing both when it ends.
 */
import {randomUUID} from 'node:crypto';
import {planOnceApproved} from '../approvals/wait-in-place.js';
import {executePlan, type RunPorts} from '../core/run-execute.js';
import {resolvePlan, type RunRequest as PlanRequest} from '../core/run-plan.js';
import {createRunConnections} from '../dispatch/held-connections.js';
import {dryRunAnswer} from '../output/dry-run-view.js';
import {collectResults} from '../run/collect-results.js';
import {paneResult} from './screens/run/pane-output.js';
import type {AgentResult, RunEvent} from '../run/events.js';
import type {DryRunView, RunHandle, RunRequest} from './core.js';
import {consoleRunDefaults} from './screens/run/run-controls.js';
import {withLazyAudit} from './lazy-audit.js';

/** What the console's runs share: the controller's ports (without the per-run audit and connections) and who runs. */
export type ConsoleRunPorts = Omit<RunPorts, 'audit' | 'connections'>;
export type ConsoleRunOptions = {caller: string; parallel?: number; timeoutSeconds?: number; token?: string};

/** The plan request of a console run: these agents, each name one clause of the selector, as the console shows them. */
export function planRequest(request: RunRequest, dryRun: boolean, options: ConsoleRunOptions): PlanRequest {
	return {
		script: request.script,
		args: request.args,
		on: request.targets,
		parallel: options.parallel ?? consoleRunDefaults.parallel,
		timeoutSeconds: request.timeoutSeconds ?? options.timeoutSeconds ?? consoleRunDefaults.timeoutSeconds,
		dryRun,
		caller: options.caller,
		...(request.rollout ? {rollout: request.rollout} : {}),
		// The console has asked the operator to type the number of targets of a `confirm` script.
		yes: true,
		// Approvals act on the operator's own token (XI_EXEC_TOKEN), as `xi-exec run` does.
		...(options.token === undefined ? {} : {token: options.token}),
	};
}

/** Runs `use` with ports of its own (an audit log opened on first use, the run's connections), closing both after. */
async function withRunPorts<T>(ports: ConsoleRunPorts, use: (run: RunPorts) => Promise<T>): Promise<T> {
	return withLazyAudit(ports.paths, async audit => {
		const connections = createRunConnections();
		try {
			return await use({...ports, audit, connections});
		} finally {
			connections.close();
		}
	});
}

export function consoleRun(ports: ConsoleRunPorts, options: ConsoleRunOptions, request: RunRequest, onEvent: (event: RunEvent) => void): RunHandle {
	const requestId = randomUUID();
	const cancel = new AbortController();
	let emitted = false;
	// The handle answers every host's result, each as the run's panes hold it (its output's tail).
	const {emit, results: collected} = collectResults((event: RunEvent) => {
		emitted = true;
		onEvent(event);
	}, result => paneResult(result, requestId));

	const done = withRunPorts(ports, async run => {
		// A run the approvals policy names waits here for its decision (approvals/wait-in-place.ts).
		const {plan, approval} = await planOnceApproved(run, {...planRequest(request, false, options), requestId}, {signal: cancel.signal, ...(request.onApproval ? {onWait: request.onApproval} : {})});
		const execution = await executePlan(run, plan, {emit, cancel: cancel.signal, cancelledBy: options.caller, ...(approval ? {approval} : {}), ...(request.approveCanary ? {approveCanary: request.approveCanary} : {})});
		await execution.outcome;
		return collected();
	}).catch((error: unknown) => (emitted ? [] : refusedRun(requestId, request, (error as Error).message, onEvent)));
	return {requestId, cancel: () => cancel.abort(), done};
}

/** Refused before anything was dialled (or the request could not be recorded): each target says why. */
function refusedRun(requestId: string, request: RunRequest, reason: string, onEvent: (event: RunEvent) => void): AgentResult[] {
	const results = request.targets.map((agent): AgentResult => ({agent, status: 'error', exitCode: null, signal: null, stdout: '', stderr: '', truncated: false, durationMs: 0, reason}));
	onEvent({type: 'run-started', requestId, script: request.script, args: request.args, targets: request.targets});
	for (const result of results) {
		onEvent({type: 'agent-finished', result});
	}

	onEvent({type: 'run-finished', requestId});
	return results;
}

export async function consoleDryRun(ports: ConsoleRunPorts, options: ConsoleRunOptions, request: RunRequest): Promise<DryRunView> {
	return withRunPorts(ports, async run => {
		const plan = await resolvePlan(run, planRequest(request, true, options));
		// Every host answers a dry run: with nothing run, there is no canary to wait on.
		const answered = collectResults();
		await (await executePlan(run, plan, {approveCanary: async () => true, emit: answered.emit})).outcome;
		const results = answered.results();
		return {
			requestId: plan.requestId,
			planHash: plan.hash,
			targets: plan.targets.map(target => target.name),
			parallel: plan.parallel,
			timeoutSeconds: plan.timeoutSeconds,
			answers: results.map(result => dryRunAnswer(result)),
			notes: plan.notes,
		};
	});
}
