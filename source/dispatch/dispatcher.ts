/**
 * One request on many agents, as a rollout: at most `parallel` (or `--batch`) hosts at once, in
 * target order, each with its own timeout; a failure threshold and a canary decided by the pure
 * planner (rollout.ts); every event streamed as it happens; exactly one result per target (in
 * target order) at the end. Hosts never started, because the run stopped (threshold, canary,
 * cancel), end as `skipped`. A whole-run timeout and an idle timeout (no output for N s) cancel
 * the hosts still running and report them as `timeout`, saying which one fired. Identical outputs
 * are kept once between the hosts that printed them (shared-outputs.ts).
 */
import {setMaxListeners} from 'node:events';
import type {AgentTarget, ClientContext} from './agent-connection.js';
import type {ConnectionHold} from './held-connections.js';
import type {AgentResult, RunEvent} from '../run/events.js';
import {decide, emptyTally, planRollout, tallyFinished, type Amount, type CanaryDecision} from '../run/rollout.js';
import {runOnAgent, type AgentRunRequest} from './run-agent.js';
import {createOutputSharing} from './shared-outputs.js';

export type DispatchOptions = {
	context: ClientContext;
	/** Agent certificate serials refused (unpaired, superseded). */
	revoked?: ReadonlySet<string>;
	/** The controller's credentials when a rotation completed during the run (see runOnAgent). */
	freshContext?: () => ClientContext | undefined;
	/** Connections kept from the run's describe, taken by the run to the same agent (held-connections.ts). */
	hold?: ConnectionHold;
	parallel: number;
	connectTimeoutMs?: number;
	answerGraceMs?: number;
	cancel?: AbortSignal;
	emit?: (event: RunEvent) => void;
	batch?: Amount;
	maxFailures?: Amount;
	ignoreUnreachable?: boolean;
	canary?: number;
	/** Asked once the canary hosts are all ok: go on? Without it, a canary run stops there. */
	approveCanary?: (canary: AgentResult[]) => Promise<boolean>;
	runTimeoutMs?: number;
	idleTimeoutMs?: number;
};

const skipped = (agent: string, reason: string): AgentResult => ({agent, status: 'skipped', exitCode: null, signal: null, stdout: '', stderr: '', truncated: false, durationMs: 0, reason});

export async function dispatch(targets: readonly AgentTarget[], request: AgentRunRequest, options: DispatchOptions): Promise<AgentResult[]> {
	const emit = options.emit ?? (() => undefined);
	const runCancel = new AbortController();
	// Every running host listens to the run's signal: thousands of listeners are expected here.
	setMaxListeners(0, runCancel.signal);
	const onOuterCancel = () => runCancel.abort('cancelled');
	options.cancel?.addEventListener('abort', onOuterCancel, {once: true});
	if (options.cancel?.aborted) {
		runCancel.abort('cancelled');
	}

	const runTimer = options.runTimeoutMs === undefined ? undefined : setTimeout(() => runCancel.abort('run-timeout'), options.runTimeoutMs);
	emit({type: 'run-started', requestId: request.requestId, script: request.script, args: request.args, targets: targets.map(target => target.name)});

	const rollout = planRollout({parallel: options.parallel, batch: options.batch, maxFailures: options.maxFailures, canary: options.canary, ignoreUnreachable: options.ignoreUnreachable}, targets.length);
	const results: Array<AgentResult | undefined> = Array.from({length: targets.length});
	let tally = emptyTally;
	const running = new Set<Promise<void>>();
	let started = 0;
	let canary: CanaryDecision = 'undecided';
	let stopReason: string | undefined;

	// Hosts that printed the same thing hold one copy of it between them.
	const outputs = createOutputSharing();
	// Wakes the loop below when a host finishes (one waiter, rather than a race over every running host per finish).
	let wake: (() => void) | undefined;
	const launch = (index: number) => {
		const target = targets[index]!;
		const done = runOne(target, request, options, runCancel.signal, emit).then(ended => {
			const result = outputs.share(ended);
			results[index] = result;
			tally = tallyFinished(rollout, tally, result.status);
			emit({type: 'agent-finished', result});
		});
		const tracked = done.finally(() => {
			running.delete(tracked);
			wake?.();
		});
		running.add(tracked);
	};

	for (;;) {
		if (runCancel.signal.aborted) {
			stopReason = runCancel.signal.reason === 'run-timeout' ? `not started: the run's --run-timeout (${(options.runTimeoutMs ?? 0) / 1000} s) fired` : 'not started: the run was cancelled';
			break;
		}

		const decision = decide(rollout, {...tally, started, canary});
		if (decision.type === 'done') {
			break;
		}

		if (decision.type === 'stop') {
			stopReason = `not started: ${decision.reason}`;
			break;
		}

		if (decision.type === 'start') {
			for (let count = 0; count < decision.count; count++) {
				launch(started++);
			}

			continue;
		}

		if (decision.type === 'ask-canary') {
			const canaryResults = results.filter((result): result is AgentResult => result !== undefined);
			canary = options.approveCanary && await options.approveCanary(canaryResults) ? 'approved' : 'refused';
			continue;
		}

		if (running.size === 0) {
			stopReason = 'not started: the rollout stalled (a bug: please report it)';
			break;
		}

		// Wait for the next host to finish (or for a cancel, which ends the running ones). Nothing
		// finishes between the decision above and this line: both run without yielding.
		await new Promise<void>(resolve => {
			wake = resolve;
		});
		wake = undefined;
	}

	await Promise.all(running);
	clearTimeout(runTimer);
	options.cancel?.removeEventListener('abort', onOuterCancel);
	const all = targets.map((target, index) => {
		const result = results[index];
		if (result) {
			return result;
		}

		const skip = skipped(target.name, stopReason ?? 'not started');
		emit({type: 'agent-finished', result: skip});
		return skip;
	});
	emit({type: 'run-finished', requestId: request.requestId});
	return all;
}

/** One host, with its idle timer; a cancel caused by a run or idle timeout is reported as a timeout. */
async function runOne(target: AgentTarget, request: AgentRunRequest, options: DispatchOptions, runSignal: AbortSignal, emit: (event: RunEvent) => void): Promise<AgentResult> {
	const controller = new AbortController();
	const follow = () => controller.abort(runSignal.reason);
	runSignal.addEventListener('abort', follow, {once: true});
	let idleTimer: NodeJS.Timeout | undefined;
	const resetIdle = () => {
		if (options.idleTimeoutMs !== undefined) {
			clearTimeout(idleTimer);
			idleTimer = setTimeout(() => controller.abort('idle-timeout'), options.idleTimeoutMs);
		}
	};

	const result = await runOnAgent(target, request, {
		context: options.context,
		...(options.revoked ? {revoked: options.revoked} : {}),
		...(options.freshContext ? {freshContext: options.freshContext} : {}),
		...(options.hold ? {hold: options.hold} : {}),
		connectTimeoutMs: options.connectTimeoutMs ?? 5000,
		answerGraceMs: options.answerGraceMs ?? 10_000,
		cancel: controller.signal,
		emit(event) {
			if (event.type === 'agent-started' || event.type === 'agent-output') {
				resetIdle();
			}

			emit(event);
		},
	});
	clearTimeout(idleTimer);
	runSignal.removeEventListener('abort', follow);
	const why = controller.signal.reason as string | undefined;
	if (controller.signal.aborted && (why === 'run-timeout' || why === 'idle-timeout') && (result.status === 'cancelled' || result.status === 'skipped' || result.status === 'unreachable')) {
		const reason = why === 'run-timeout'
			? `the run's --run-timeout (${(options.runTimeoutMs ?? 0) / 1000} s) fired`
			: `no output for ${(options.idleTimeoutMs ?? 0) / 1000} s (--idle-timeout)`;
		return {...result, status: 'timeout', reason};
	}

	return result;
}
