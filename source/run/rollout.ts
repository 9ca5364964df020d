/**
 * The rollout planner: given the targets, `--batch`, `--max-failures`, `--canary` and the outcomes
 * so far, what to do next: start more hosts, wait, ask about the canary, stop, or finish. Pure.
 *
 * `--batch N|N%` is a sliding window (at most N hosts running; a new one starts as soon as one
 * finishes). `--max-failures N|N%` counts failed, timeout, denied and error (and unreachable
 * unless ignored); once the count is above N no new host starts. Hosts already running finish and
 * are reported, so in-flight hosts can overshoot the threshold. `--canary N` runs the first N
 * hosts and goes on only when all of them are ok and the operator (or --yes) says so.
 */
import type {RunStatus} from '../protocol/frames.js';

export type Amount = {value: number; percent: boolean};

export function parseAmount(flag: string, text: string): Amount | string {
	const match = /^(\d+)(%?)$/.exec(text.trim());
	if (!match || (match[2] === '%' && (Number(match[1]) < 1 || Number(match[1]) > 100))) {
		return `--${flag} must be a whole number or a percentage from 1% to 100%; got ${JSON.stringify(text)}`;
	}

	return {value: Number(match[1]), percent: match[2] === '%'};
}

export type RolloutOptions = {batch?: Amount; maxFailures?: Amount; canary?: number; ignoreUnreachable?: boolean; parallel: number};

export type Rollout = {total: number; window: number; maxFailures?: number; canary: number; ignoreUnreachable: boolean};

export function planRollout(options: RolloutOptions, total: number): Rollout {
	const batch = options.batch ? resolve(options.batch, total, 'ceil') : options.parallel;
	return {
		total,
		window: Math.max(1, Math.min(batch, options.parallel)),
		...(options.maxFailures ? {maxFailures: resolve(options.maxFailures, total, 'floor')} : {}),
		canary: Math.min(options.canary ?? 0, total),
		ignoreUnreachable: options.ignoreUnreachable ?? false,
	};
}

function resolve(amount: Amount, total: number, round: 'ceil' | 'floor'): number {
	if (!amount.percent) {
		return amount.value;
	}

	const exact = (total * amount.value) / 100;
	return round === 'ceil' ? Math.max(1, Math.ceil(exact)) : Math.floor(exact);
}

export type CanaryDecision = 'undecided' | 'approved' | 'refused';

/** The rollout so far, as a list of the finished hosts' statuses (in the order they finished). */
export type Progress = {started: number; finished: readonly RunStatus[]; canary: CanaryDecision};

/**
 * What the planner needs of the finished hosts, kept as they finish (`tallyFinished`, O(1) a
 * host) so a decision costs the same at the 10,000th host as at the first: how many finished, how
 * many of them count as failures, and how many of the first `canary` to finish were not ok.
 */
export type Tally = {finished: number; failures: number; canaryNotOk: number};

export type RolloutState = Tally & {started: number; canary: CanaryDecision};

export type Decision =
	| {type: 'start'; count: number}
	| {type: 'wait'}
	| {type: 'ask-canary'}
	| {type: 'stop'; reason: string}
	| {type: 'done'};

const failureStatuses = new Set<RunStatus>(['failed', 'timeout', 'denied', 'error']);

export function countsAsFailure(rollout: Rollout, status: RunStatus): boolean {
	return failureStatuses.has(status) || (status === 'unreachable' && !rollout.ignoreUnreachable);
}

export const emptyTally: Tally = {finished: 0, failures: 0, canaryNotOk: 0};

/** The tally with one more host finished. */
export function tallyFinished(rollout: Rollout, tally: Tally, status: RunStatus): Tally {
	return {
		finished: tally.finished + 1,
		failures: tally.failures + (countsAsFailure(rollout, status) ? 1 : 0),
		canaryNotOk: tally.canaryNotOk + (tally.finished < rollout.canary && status !== 'ok' ? 1 : 0),
	};
}

/** The decision for a list of finished statuses (tallied here, so O(finished)): `decide` is the planner. */
export function nextDecision(rollout: Rollout, progress: Progress): Decision {
	const tally = progress.finished.reduce((sum, status) => tallyFinished(rollout, sum, status), emptyTally);
	return decide(rollout, {...tally, started: progress.started, canary: progress.canary});
}

/** What to do next, from the tally: O(1). */
export function decide(rollout: Rollout, state: RolloutState): Decision {
	const {started, finished, failures} = state;
	const running = started - finished;
	if (finished === rollout.total) {
		return {type: 'done'};
	}

	if (rollout.maxFailures !== undefined && failures > rollout.maxFailures) {
		return started < rollout.total ? {type: 'stop', reason: `${failures} failures, over --max-failures ${rollout.maxFailures}`} : {type: 'wait'};
	}

	if (rollout.canary > 0 && state.canary !== 'approved') {
		if (state.canary === 'refused') {
			return {type: 'stop', reason: 'the canary was not approved'};
		}

		if (started < rollout.canary) {
			return startUpTo(Math.min(rollout.window - running, rollout.canary - started));
		}

		if (finished < rollout.canary) {
			return {type: 'wait'};
		}

		if (state.canaryNotOk > 0) {
			return {type: 'stop', reason: `${state.canaryNotOk} of ${rollout.canary} canary ${rollout.canary === 1 ? 'host was' : 'hosts were'} not ok`};
		}

		return rollout.canary === rollout.total ? {type: 'done'} : {type: 'ask-canary'};
	}

	if (started >= rollout.total) {
		return {type: 'wait'};
	}

	return startUpTo(Math.min(rollout.window - running, rollout.total - started));
}

function startUpTo(count: number): Decision {
	return count > 0 ? {type: 'start', count} : {type: 'wait'};
}
