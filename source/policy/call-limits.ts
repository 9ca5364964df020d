/**
 * Limits held per token for callers that call often and on their own (AI agents over MCP): how
 * many calls may run at once, how many may start in any 60 seconds, and how many bytes of output
 * one answer may carry. Each token has its own counters, whatever session or transport it uses.
 * Pure apart from the clock, which comes in.
 */
export type CallLimits = {maxConcurrentCalls: number; callsPerMinute: number; maxOutputBytes: number};

export const defaultCallLimits: CallLimits = {maxConcurrentCalls: 4, callsPerMinute: 60, maxOutputBytes: 64 * 1024};

export type CallAdmission = {ok: true; done: () => void} | {ok: false; reason: string};

export type CallLimiter = {admit: (token: {id: string; name: string}) => CallAdmission};

const windowMs = 60_000;

export function createCallLimiter(limits: CallLimits, now: () => number): CallLimiter {
	const perToken = new Map<string, {running: number; started: number[]}>();
	return {
		admit(token) {
			const state = perToken.get(token.id) ?? {running: 0, started: []};
			perToken.set(token.id, state);
			const at = now();
			state.started = state.started.filter(time => at - time < windowMs);
			if (state.running >= limits.maxConcurrentCalls) {
				return {ok: false, reason: `token ${token.name} already has ${state.running} ${state.running === 1 ? 'call' : 'calls'} running, its limit (maxConcurrentCalls ${limits.maxConcurrentCalls}); wait for one to end`};
			}

			if (state.started.length >= limits.callsPerMinute) {
				const retryInSeconds = Math.max(1, Math.ceil((windowMs - (at - state.started[0]!)) / 1000));
				return {ok: false, reason: `token ${token.name} made ${state.started.length} calls in the last minute, its limit (callsPerMinute ${limits.callsPerMinute}); call again in ${retryInSeconds} s`};
			}

			state.running++;
			state.started.push(at);
			let ended = false;
			return {
				ok: true,
				done() {
					if (!ended) {
						ended = true;
						state.running--;
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
