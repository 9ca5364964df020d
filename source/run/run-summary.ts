/**
 * What a run keeps of its hosts' results once they have streamed to the history and the faces:
 * a count per status and, for each status that is not ok, the first `listed` hosts to end in it
 * (name, exit code, signal, reason, duration: never their output). Bounded: at most `listed`
 * hosts per status (so `listed` × 8 at most) whatever the number of hosts or the size of their
 * output; every host's result and output is in the run's history (`xi-exec runs show ID`).
 * Results are added as they come and dropped at once. Pure.
 */
import type {RunStatus} from '../protocol/frames.js';
import type {AgentResult} from './events.js';

/** One host's end without its output. */
export type HostEnd = Pick<AgentResult, 'agent' | 'status' | 'exitCode' | 'signal' | 'durationMs' | 'reason'>;

export type RunSummary = {
	total: number;
	counts: Partial<Record<RunStatus, number>>;
	/** The first hosts to end in each status other than ok, up to the keeper's limit per status, in the order they ended. */
	notOk: HostEnd[];
	/** Hosts not ok beyond that limit: counted, not listed (they are in the history). */
	unlisted: number;
};

export const listedPerStatus = 20;

export function createSummaryKeeper(listed = listedPerStatus): {add: (result: AgentResult) => void; summary: () => RunSummary} {
	const counts: Partial<Record<RunStatus, number>> = {};
	const notOk: HostEnd[] = [];
	let total = 0;
	let unlisted = 0;
	return {
		add(result) {
			total++;
			const seen = counts[result.status] ?? 0;
			counts[result.status] = seen + 1;
			if (result.status === 'ok') {
				return;
			}

			if (seen < listed) {
				notOk.push(hostEnd(result));
			} else {
				unlisted++;
			}
		},
		summary: () => ({total, counts: {...counts}, notOk: [...notOk], unlisted}),
	};
}

/** Every host ended ok (a run of no host did nothing wrong). */
export function allOk(summary: RunSummary): boolean {
	return (summary.counts.ok ?? 0) === summary.total;
}

function hostEnd(result: AgentResult): HostEnd {
	return {
		agent: result.agent,
		status: result.status,
		exitCode: result.exitCode,
		signal: result.signal,
		durationMs: result.durationMs,
		...(result.reason === undefined ? {} : {reason: result.reason}),
	};
}
