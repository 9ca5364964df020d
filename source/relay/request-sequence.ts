/**
 * The sequence numbers of request envelopes, monotonic across controller processes: the clock in
 * milliseconds × 1000, and never below the last number this process handed out plus one. The agent
 * refuses a request envelope whose sequence is not above the last one it accepted for that request
 * id (agent/relay-guard.ts); a run started by one process and cancelled from another (`xi-exec
 * cancel ID`) is two envelopes of one request id from two processes, and the later one has the
 * higher number as long as their clocks agree to within the time between them (one host's do).
 * Below 2^53 until the year 2255. Pure: the clock is passed in.
 */
export function requestSequence(now: () => number): () => number {
	let last = 0;
	return () => {
		last = Math.max(last + 1, Math.floor(now()) * 1000);
		return last;
	};
}
