/**
 * A rule's rate limits, `{"perCaller": "10/1h", "perScript": "100/1h"}`: each allowed call is
 * charged to a key per rule and caller (or script); the counts come in as `RateState` and the
 * caller records the charges an allowed decision carries (`applyCharges`). Pure.
 */
import {isObject} from './json-checks.js';
import type {PolicyRequest, RateCharge, RateLimit, RateLimits, RateState, Rule} from './policy-rule.js';

export function parseRateLimits(value: unknown, fail: (message: string) => void): RateLimits | undefined {
	if (!isObject(value)) {
		fail('"rate" must be an object');
		return undefined;
	}

	const perCaller = value['perCaller'] === undefined ? undefined : parseRate(value['perCaller']);
	const perScript = value['perScript'] === undefined ? undefined : parseRate(value['perScript']);
	if (perCaller === null || perScript === null) {
		fail('"rate.perCaller" and "rate.perScript" look like "10/1h" (count / 30s, 5m, 1h or 1d)');
		return undefined;
	}

	return {...(perCaller ? {perCaller} : {}), ...(perScript ? {perScript} : {})};
}

function parseRate(value: unknown): RateLimit | null {
	const match = typeof value === 'string' ? /^(\d+)\/(\d+)([smhd])$/.exec(value) : null;
	if (!match || Number(match[1]) < 1) {
		return null;
	}

	return {count: Number(match[1]), windowMs: Number(match[2]) * {s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000}[match[3] as 's']};
}

/** Why the rule's limits have no room for this request now, or undefined. */
export function rateProblem(rule: Rule, request: PolicyRequest, now: Date, rates: RateState): string | undefined {
	for (const {key, limit} of rateKeys(rule, request)) {
		const recent = (rates[key] ?? []).filter(time => time > now.getTime() - limit.windowMs);
		if (recent.length >= limit.count) {
			return `rate limit reached (${limit.count} per ${limit.windowMs / 1000} s for ${key.split('|')[1]})`;
		}
	}

	return undefined;
}

/** What an allowed request is charged under the rule's limits. */
export function charges(rule: Rule, request: PolicyRequest): RateCharge[] {
	return rateKeys(rule, request).map(({key, limit}) => ({key, windowMs: limit.windowMs}));
}

function rateKeys(rule: Rule, request: PolicyRequest) {
	return [
		...(rule.rate?.perCaller ? [{key: `${rule.name}|caller ${request.token ? `token:${request.token.name}` : request.caller}`, limit: rule.rate.perCaller}] : []),
		...(rule.rate?.perScript ? [{key: `${rule.name}|script ${request.script}`, limit: rule.rate.perScript}] : []),
	];
}

/** Records allowed calls in the rate state, forgetting what is older than every window. */
export function applyCharges(rates: RateState, charge: readonly RateCharge[], now: Date): RateState {
	const next: RateState = {...rates};
	for (const {key, windowMs} of charge) {
		next[key] = [...(next[key] ?? []).filter(time => time > now.getTime() - windowMs), now.getTime()];
	}

	return next;
}
