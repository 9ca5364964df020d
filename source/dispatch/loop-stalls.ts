/**
 * Time that counts against an agent: wall time minus the time this process's event loop could not
 * run (busy with other connections' callbacks, starved of CPU, blocked in a system call). A
 * connect timeout measured in it says the agent did not answer, not that the controller was busy:
 * at 1,000 hosts, --parallel 256, load 20 on 2 cores, one poll phase of 256 handshakes took the
 * CLI 5-7 s of wall time, and every connect timer that expired meanwhile fired (timers run before
 * the poll phase that would read the answers already waiting) with the agents' answers unread.
 *
 * A repeating timer (every `tickMs`, unref'd, running only while someone waits) counts how late it
 * fires; lateness is stall. `ownNow()` also counts the stall still under way, so a timer that fires
 * right after one sees it before the next tick does.
 */

/** Monotonic milliseconds (process.hrtime: node:perf_hooks is not loaded just for this at every start). */
function monotonicMs(): number {
	return Number(process.hrtime.bigint()) / 1e6;
}

const tickMs = 50;

let stalledMs = 0;
let lastTick = 0;
let waiting = 0;
let ticker: NodeJS.Timeout | undefined;

function tick(): void {
	const now = monotonicMs();
	stalledMs += Math.max(0, now - lastTick - tickMs);
	lastTick = now;
}

/** Milliseconds of the loop's own time so far: only differences of two readings mean anything. */
export function ownNow(): number {
	const now = monotonicMs();
	return now - stalledMs - (ticker ? Math.max(0, now - lastTick - tickMs) : 0);
}

/**
 * Counts stalls until as many `unwatchStalls()` calls (nested users share one timer): for a user that
 * keeps its own flag (tls-link.ts's exchange), with no closure per wait; each user calls each once.
 */
export function watchStallsOpen(): void {
	if (waiting++ === 0) {
		lastTick = monotonicMs();
		ticker = setInterval(tick, tickMs);
		ticker.unref();
	}
}

export function unwatchStalls(): void {
	if (--waiting === 0) {
		clearInterval(ticker);
		ticker = undefined;
	}
}

/** Counts stalls until the returned function is called (nested users share one timer). */
export function watchStalls(): () => void {
	watchStallsOpen();
	let stopped = false;
	return () => {
		if (!stopped) {
			stopped = true;
			unwatchStalls();
		}
	};
}
