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

export type Progress = {started: number; finished: readonly RunStatus[]; canary: CanaryDecision};

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

export function nextDecision(rollout: Rollout, progress: Progress): Decision {
	const {started, finished} = progress;
	const running = started - finished.length;
	const failures = finished.filter(status => countsAsFailure(rollout, status)).length;
	if (finished.length === rollout.total) {
		return {type: 'done'};
	}

	if (rollout.maxFailures !== undefined && failures > rollout.maxFailures) {
		return started < rollout.total ? {type: 'stop', reason: `${failures} failures, over --max-failures ${rollout.maxFailures}`} : {type: 'wait'};
	}

	if (rollout.canary > 0 && progress.canary !== 'approved') {
		if (progress.canary === 'refused') {
			return {type: 'stop', reason: 'the canary was not approved'};
		}

		if (started < rollout.canary) {
			return startUpTo(Math.min(rollout.window - running, rollout.canary - started));
		}

		if (finished.length < rollout.canary) {
			return {type: 'wait'};
		}

		const canaryFailures = finished.slice(0, rollout.canary).filter(status => status !== 'ok').length;
		if (canaryFailures > 0) {
			return {type: 'stop', reason: `${canaryFailures} of ${rollout.canary} canary ${rollout.canary === 1 ? 'host was' : 'hosts were'} not ok`};
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
