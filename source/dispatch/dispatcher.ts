/**
 * One request on many agents, as a rollout: at most `parallel` (or `--batch`) hosts at once, in
 * target order, each with its own timeout; a failure threshold and a canary decided by the pure
 * planner (rollout.ts); every event streamed as it happens, exactly one `agent-finished` per
 * target, and a bounded summary at the end (run-summary.ts): nothing here holds the hosts'
 * results or outputs once they are emitted. Hosts never started, because the run stopped
 * (threshold, canary, cancel), end as `skipped`. A whole-run timeout and an idle timeout (no output for N s) cancel
 * the hosts still running and report them as `timeout`, saying which one fired.
 */
import type {AgentTarget, ClientContext} from './agent-connection.js';
import type {ConnectionHold} from './held-connections.js';
import type {AgentResult, RunEvent} from '../run/events.js';
import {decide, emptyTally, planRollout, tallyFinished, type Amount, type Rollout, type RolloutState} from '../run/rollout.js';
import {createSummaryKeeper, type RunSummary} from '../run/run-summary.js';
import {runOnAgent, type AgentRunOptions, type AgentRunRequest} from './run-agent.js';

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
	/** Runs the request on one host (runOnAgent: the TLS or relay exchange); a test passes its own. */
	runOnHost?: (target: AgentTarget, request: AgentRunRequest, options: AgentRunOptions) => Promise<AgentResult>;
};

const skipped = (agent: string, reason: string): AgentResult => ({agent, status: 'skipped', exitCode: null, signal: null, stdout: '', stderr: '', truncated: false, durationMs: 0, reason});

/**
 * Runs the request on the targets and answers the run's summary: counts and the first hosts not
 * ok (run-summary.ts). Each host's result goes out as an `agent-finished` event and is not kept
 * here: the history and the faces take it from the event.
 */
export async function dispatch(targets: readonly AgentTarget[], request: AgentRunRequest, options: DispatchOptions): Promise<RunSummary> {
	const emit = options.emit ?? (() => undefined);
	const run = runSignal(options);
	emit({type: 'run-started', requestId: request.requestId, script: request.script, args: request.args, targets: targets.map(target => target.name)});
	const summary = createSummaryKeeper();
	const finish = (result: AgentResult) => {
		summary.add(result);
		emit({type: 'agent-finished', result});
	};

	const rollout = planRollout({parallel: options.parallel, batch: options.batch, maxFailures: options.maxFailures, canary: options.canary, ignoreUnreachable: options.ignoreUnreachable}, targets.length);
	const shared = sharedHostOptions(options);
	const hosts = startHosts(targets, rollout, host => runOne(host, request, options, shared, run, emit), finish);
	const stopReason = await rollOut(rollout, hosts, run.signal, options);
	await hosts.settled();
	run.dispose();
	// Hosts start in target order, so the ones never started are the rest of the list.
	for (const target of targets.slice(hosts.started())) {
		finish(skipped(target.name, stopReason ?? 'not started'));
	}

	emit({type: 'run-finished', requestId: request.requestId});
	return summary.summary();
}

/**
 * The run's own cancel: the caller's cancel and the whole-run timeout both abort it, and it aborts
 * every running host's own cancel (`follow`) with its reason. One listener on the run's signal
 * walks a set of the running hosts: node's AbortSignal looks through all of a signal's listeners
 * on each add and remove, so one listener per running host cost O(--parallel) per host.
 */
type RunSignal = {
	signal: AbortSignal;
	/** Aborts `host` when the run is aborted (with the run's reason), until `unfollow(host)`. */
	follow: (host: AbortController) => void;
	unfollow: (host: AbortController) => void;
	dispose: () => void;
};

function runSignal(options: DispatchOptions): RunSignal {
	const runCancel = new AbortController();
	const running = new Set<AbortController>();
	runCancel.signal.addEventListener('abort', () => {
		for (const host of running) {
			host.abort(runCancel.signal.reason);
		}
	}, {once: true});
	const onOuterCancel = () => runCancel.abort('cancelled');
	options.cancel?.addEventListener('abort', onOuterCancel, {once: true});
	if (options.cancel?.aborted) {
		runCancel.abort('cancelled');
	}

	const runTimer = options.runTimeoutMs === undefined ? undefined : setTimeout(() => runCancel.abort('run-timeout'), options.runTimeoutMs);
	return {
		signal: runCancel.signal,
		follow(host) {
			running.add(host);
		},
		unfollow(host) {
			running.delete(host);
		},
		dispose() {
			clearTimeout(runTimer);
			options.cancel?.removeEventListener('abort', onOuterCancel);
		},
	};
}

/** The hosts of a run as the rollout starts them, in target order; what the planner needs of those that ended. */
type Hosts = {
	start: (count: number) => void;
	started: () => number;
	running: () => number;
	/**
	 * The planner's state, kept up to date in place as hosts start and end (one object per run, not
	 * one per decision); the rollout writes its canary decision into it.
	 */
	state: RolloutState;
	/** The results of the canary hosts, in target order (kept only until the canary is decided). */
	canary: () => AgentResult[];
	/** Resolves when a running host ends (one waiter at a time). */
	nextEnd: () => Promise<void>;
	/** Resolves when every started host has ended; rejects with the first error a host's run or its `finish` threw. */
	settled: () => Promise<void>;
};

/**
 * Per host, one promise reaction (`.then(ended, failed)`) and nothing else: no closure unless the
 * host is a canary (its index is kept for ordering), no set of running hosts (a count), and one
 * wake-up promise per wait of the rollout, not one per host's end.
 */
function startHosts(targets: readonly AgentTarget[], rollout: Rollout, run: (target: AgentTarget) => Promise<AgentResult>, finish: (result: AgentResult) => void): Hosts {
	const state: RolloutState = {...emptyTally, started: 0, canary: 'undecided'};
	let running = 0;
	let canary: Array<{index: number; result: AgentResult}> | undefined = rollout.canary > 0 ? [] : undefined;
	let failure: {error: unknown} | undefined;
	// Wakes the rollout when a host ends (one waiter), and settled() when the last one does.
	let wake: (() => void) | undefined;
	let allEnded: (() => void) | undefined;
	const hostEnded = () => {
		running--;
		const waiting = wake;
		wake = undefined;
		waiting?.();
		if (running === 0) {
			allEnded?.();
		}
	};

	const failed = (error: unknown) => {
		failure ??= {error};
		hostEnded();
	};

	const ended = (result: AgentResult) => {
		try {
			const tally = tallyFinished(rollout, state, result.status);
			state.finished = tally.finished;
			state.failures = tally.failures;
			state.canaryNotOk = tally.canaryNotOk;
			finish(result);
		} catch (error) {
			failure ??= {error};
		}

		hostEnded();
	};

	const launch = (index: number) => {
		running++;
		const done = run(targets[index]!);
		if (canary && index < rollout.canary) {
			void done.then(result => {
				canary?.push({index, result});
				ended(result);
			}, failed);
		} else {
			void done.then(ended, failed);
		}
	};

	return {
		start(count) {
			for (let n = 0; n < count; n++) {
				launch(state.started++);
			}
		},
		started: () => state.started,
		running: () => running,
		state,
		canary() {
			const hosts = (canary ?? []).sort((a, b) => a.index - b.index).map(host => host.result);
			canary = undefined;
			return hosts;
		},
		async nextEnd() {
			return new Promise<void>(resolve => {
				wake = resolve;
			});
		},
		async settled() {
			if (running > 0) {
				await new Promise<void>(resolve => {
					allEnded = resolve;
				});
			}

			if (failure) {
				throw failure.error;
			}
		},
	};
}

/** Starts hosts as the planner (rollout.ts) says until it is done or stops; the reason the rest are not started, if any. */
async function rollOut(rollout: Rollout, hosts: Hosts, signal: AbortSignal, options: DispatchOptions): Promise<string | undefined> {
	for (;;) {
		if (signal.aborted) {
			return signal.reason === 'run-timeout' ? `not started: the run's --run-timeout (${(options.runTimeoutMs ?? 0) / 1000} s) fired` : 'not started: the run was cancelled';
		}

		const decision = decide(rollout, hosts.state);
		switch (decision.type) {
			case 'done': {
				return undefined;
			}

			case 'stop': {
				return `not started: ${decision.reason}`;
			}

			case 'start': {
				hosts.start(decision.count);
				break;
			}

			case 'ask-canary': {
				const canaryResults = hosts.canary();
				hosts.state.canary = options.approveCanary && await options.approveCanary(canaryResults) ? 'approved' : 'refused';
				break;
			}

			case 'wait': {
				if (hosts.running() === 0) {
					return 'not started: the rollout stalled (a bug: please report it)';
				}

				// Wait for the next host to finish (or for a cancel, which ends the running ones). Nothing
				// finishes between the decision above and this line: both run without yielding.
				await hosts.nextEnd();
			}
		}
	}
}

/** What every host's runOnAgent options share, made once per run rather than once per host. */
type SharedHostOptions = Omit<AgentRunOptions, 'cancel' | 'emit'>;

function sharedHostOptions(options: DispatchOptions): SharedHostOptions {
	return {
		context: options.context,
		...(options.revoked ? {revoked: options.revoked} : {}),
		...(options.freshContext ? {freshContext: options.freshContext} : {}),
		...(options.hold ? {hold: options.hold} : {}),
		connectTimeoutMs: options.connectTimeoutMs ?? 5000,
		answerGraceMs: options.answerGraceMs ?? 10_000,
	};
}

/** One host, with its idle timer; a cancel caused by a run or idle timeout is reported as a timeout. */
async function runOne(target: AgentTarget, request: AgentRunRequest, options: DispatchOptions, shared: SharedHostOptions, run: RunSignal, emit: (event: RunEvent) => void): Promise<AgentResult> {
	const controller = new AbortController();
	run.follow(controller);
	let idleTimer: NodeJS.Timeout | undefined;
	const {idleTimeoutMs} = options;
	// Without an idle timeout the host's events go straight out; with one, each start and output line resets it.
	const hostEmit = idleTimeoutMs === undefined ? emit : (event: RunEvent) => {
		if (event.type === 'agent-started' || event.type === 'agent-output') {
			clearTimeout(idleTimer);
			idleTimer = setTimeout(() => controller.abort('idle-timeout'), idleTimeoutMs);
		}

		emit(event);
	};

	const result = await (options.runOnHost ?? runOnAgent)(target, request, {...shared, cancel: controller.signal, emit: hostEmit});
	clearTimeout(idleTimer);
	run.unfollow(controller);
	const why = controller.signal.reason as string | undefined;
	if (controller.signal.aborted && (why === 'run-timeout' || why === 'idle-timeout') && (result.status === 'cancelled' || result.status === 'skipped' || result.status === 'unreachable')) {
		const reason = why === 'run-timeout'
			? `the run's --run-timeout (${(options.runTimeoutMs ?? 0) / 1000} s) fired`
			: `no output for ${(options.idleTimeoutMs ?? 0) / 1000} s (--idle-timeout)`;
		return {...result, status: 'timeout', reason};
	}

	return result;
}
