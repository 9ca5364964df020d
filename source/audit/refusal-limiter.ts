/**
 * Rate-limits the audit records of refusals nobody authenticated (a flood of garbage connections
 * must not become a flood of audit lines): per source, the first refusal of a window is recorded
 * as it happens; the ones after it in the same window are only counted, and when the window ends
 * they become one summary with their count. So a source costs at most two records a minute, and
 * every refusal is still counted. Pure: the caller passes the time.
 */
export type RefusalSummary = {source: string; count: number; from: string; to: string; lastReason: string};

export type RefusalLimiter = {
	/** Whether this refusal is recorded now (the first of its source's window); otherwise it is counted. */
	admit: (source: string, reason: string, now: Date) => boolean;
	/** The summaries of windows that ended by `now` (taken: each is returned once). */
	due: (now: Date) => RefusalSummary[];
	/** Every summary still held, ended or not (at close). */
	drain: () => RefusalSummary[];
};

type Window = {start: number; suppressed: number; first?: number; last: number; lastReason: string};

export const refusalWindowMs = 60_000;
/** Sources tracked one by one; past this (a spread-out flood), the rest share one window. */
const maxSources = 4096;
const otherSources = 'other sources';

export function createRefusalLimiter(windowMs = refusalWindowMs): RefusalLimiter {
	const windows = new Map<string, Window>();
	let ended: RefusalSummary[] = [];
	const retire = (source: string, window: Window) => {
		windows.delete(source);
		if (window.suppressed > 0) {
			ended.push({source, count: window.suppressed, from: new Date(window.first!).toISOString(), to: new Date(window.last).toISOString(), lastReason: window.lastReason});
		}
	};

	const take = (now: number | undefined): RefusalSummary[] => {
		for (const [source, window] of windows) {
			if (now === undefined || now - window.start >= windowMs) {
				retire(source, window);
			}
		}

		const taken = ended;
		ended = [];
		return taken;
	};

	return {
		admit(given, reason, now) {
			const time = now.getTime();
			const source = windows.has(given) || windows.size < maxSources ? given : otherSources;
			const window = windows.get(source);
			if (window && time - window.start < windowMs) {
				window.suppressed++;
				window.first ??= time;
				window.last = time;
				window.lastReason = reason;
				return false;
			}

			if (window) {
				retire(source, window);
			}

			windows.set(source, {start: time, suppressed: 0, last: time, lastReason: reason});
			return true;
		},
		due: now => take(now.getTime()),
		drain: () => take(undefined),
	};
}
