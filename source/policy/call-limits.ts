/**
 * Limits held per token for callers that call often and on their own (AI agents over MCP): how
 * many calls may run at once, how many may start in any 60 seconds, and how many bytes of output
 * one answer may carry. Each token has its own counters, whatever session or transport it uses.
 * Pure apart from the clock, which comes in.
 */
export type CallLimits = {maxConcurrentCalls: number; callsPerMinute: number; maxOutputBytes: number};

export const defaultCallLimits: CallLimits = {maxConcurrentCalls: 4, callsPerMinute: 60, maxOutputBytes: 64 * 1024};

export type CallAdmission = {ok: true; done: () => Promise<void>} | {ok: false; reason: string};

/** `slot: false` for a call that must never wait for one (cancelling the token's own run): it counts per minute only. */
export type CallLimiter = {admit: (token: {id: string; name: string}, options?: {slot?: boolean}) => Promise<CallAdmission>};

/**
 * What every process serving a token's calls shares: per token id, the calls running (each with
 * the process holding it, so a process that died leaves no slot taken) and the start times of the
 * last minute's calls.
 */
export type CallLedger = {version: 1; tokens: Record<string, {running: Array<{call: string; holder: string}>; started: number[]}>};

export const emptyCallLedger = (): CallLedger => ({version: 1, tokens: {}});

const windowMs = 60_000;

/**
 * Admits one call of `token` (id `call`, held by `holder`) or says why not: the concurrent calls
 * first (unless the call takes no slot), then the calls per minute. Calls whose holder is no
 * longer alive are dropped first. Returns the ledger to keep (unchanged on a refusal, but for
 * the pruning).
 */
export function admitCall(ledger: CallLedger, limits: CallLimits, at: number, token: {id: string; name: string}, call: {call: string; holder: string; slot?: boolean}, alive: (holder: string) => boolean): {ledger: CallLedger; refusal?: string} {
	const before = ledger.tokens[token.id] ?? {running: [], started: []};
	const state = {running: before.running.filter(entry => alive(entry.holder)), started: before.started.filter(time => at - time < windowMs)};
	const pruned: CallLedger = {...ledger, tokens: {...ledger.tokens, [token.id]: state}};
	const slot = call.slot ?? true;
	if (slot && state.running.length >= limits.maxConcurrentCalls) {
		const running = state.running.length;
		return {ledger: pruned, refusal: `token ${token.name} already has ${running} ${running === 1 ? 'call' : 'calls'} running, its limit (maxConcurrentCalls ${limits.maxConcurrentCalls}); wait for one to end`};
	}

	if (state.started.length >= limits.callsPerMinute) {
		const retryInSeconds = Math.max(1, Math.ceil((windowMs - (at - state.started[0]!)) / 1000));
		return {ledger: pruned, refusal: `token ${token.name} made ${state.started.length} calls in the last minute, its limit (callsPerMinute ${limits.callsPerMinute}); call again in ${retryInSeconds} s`};
	}

	const running = slot ? [...state.running, {call: call.call, holder: call.holder}] : state.running;
	return {ledger: {...ledger, tokens: {...ledger.tokens, [token.id]: {running, started: [...state.started, at]}}}};
}

/** The ledger without call `call` of token `tokenId` (a call ended). */
export function endCall(ledger: CallLedger, tokenId: string, call: string): CallLedger {
	const state = ledger.tokens[tokenId];
	if (!state) {
		return ledger;
	}

	return {...ledger, tokens: {...ledger.tokens, [tokenId]: {...state, running: state.running.filter(entry => entry.call !== call)}}};
}

/** A limiter over a ledger kept in this process only (one process serving every call). */
export function createCallLimiter(limits: CallLimits, now: () => number): CallLimiter {
	let ledger = emptyCallLedger();
	let calls = 0;
	return {
		async admit(token, options = {}) {
			const call = String(++calls);
			const admitted = admitCall(ledger, limits, now(), token, {call, holder: 'this process', ...options}, () => true);
			ledger = admitted.ledger;
			if (admitted.refusal !== undefined) {
				return {ok: false, reason: admitted.refusal};
			}

			let ended = false;
			return {
				ok: true,
				async done() {
					if (!ended) {
						ended = true;
						ledger = endCall(ledger, token.id, call);
					}
				},
			};
		},
	};
}

/** Reads `{"mcp": {"maxConcurrentCalls", "callsPerMinute", "maxOutputBytes"}}` from the controller's settings; the problem, or the limits. */
export function parseCallLimits(value: unknown): CallLimits | string {
	if (value === undefined) {
		return defaultCallLimits;
	}

	if (typeof value !== 'object' || value === null || Array.isArray(value)) {
		return '"mcp" must be an object';
	}

	const fields = value as Record<string, unknown>;
	const limits = {...defaultCallLimits};
	const bounds: Record<keyof CallLimits, [number, number]> = {maxConcurrentCalls: [1, 1024], callsPerMinute: [1, 100_000], maxOutputBytes: [1024, 64 * 1024 * 1024]};
	for (const [name, [min, max]] of Object.entries(bounds) as Array<[keyof CallLimits, [number, number]]>) {
		const given = fields[name];
		if (given === undefined) {
			continue;
		}

		if (typeof given !== 'number' || !Number.isInteger(given) || given < min || given > max) {
			return `"mcp.${name}" must be a whole number from ${min} to ${max}; got ${JSON.stringify(given)}`;
		}

		limits[name] = given;
	}

	return limits;
}
