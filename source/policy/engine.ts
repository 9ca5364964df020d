/**
 * The policy engine, as smallstep's: built once from a policy file, evaluated to
 * `{allowed, reason}` with no IO (the clock and the rate-limit counts come in as inputs).
 * Deny rules are checked first (the first matching deny wins), then allow rules (the first
 * matching allow wins); no match is deny.
 *
 *   {"rules": [{"name": "...", "effect": "allow" | "deny",
 *     "callers": ["alice@ops", "token:contractor-acme", "*"], "scripts": ["tail-log", "*"],
 *     "args": {"forbid": ["--force", "-rf"], "options": "getopt_long", "shortOptions": "rfvo:",
 *              "longOptions": ["--forceful", "--output="],
 *              "positions": [{"enum": [...]}, {"pattern": "^[0-9]+$"}], "maxCount": 2},
 *     "window": {"days": ["mon", ...], "hours": "08:00-18:00", "timeZone": "Europe/London"},
 *     "rate": {"perCaller": "10/1h", "perScript": "100/1h"}}]}
 *
 * A deny rule matches when its caller and script match and every condition it states holds
 * (forbid: a forbidden flag is used; window: now is inside it). An allow rule matches when its
 * caller and script match, no forbidden flag is used, every position fits, now is in its window
 * and its rate limits have room.
 *
 * parse-policy.ts reads and checks the file, time-window.ts and rate-limits.ts hold the two
 * conditions that need the clock and the counts, policy-rule.ts the types; this file decides.
 */
import {findForbiddenFlag} from './flags.js';
import type {Decision, Policy, PolicyRequest, RateState, Rule} from './policy-rule.js';
import {charges, rateProblem} from './rate-limits.js';
import {inWindow} from './time-window.js';

export {parsePolicy} from './parse-policy.js';
export {applyCharges} from './rate-limits.js';
export type {Decision, Policy, PolicyRequest, RateCharge, RateState} from './policy-rule.js';

export function evaluate(policy: Policy, request: PolicyRequest, now: Date, rates: RateState): Decision {
	const callerNames = [request.caller, ...(request.token ? [`token:${request.token.name}`] : [])];
	const applies = (rule: Rule) => rule.callers.some(pattern => callerNames.some(name => matchesName(pattern, name))) && rule.scripts.some(pattern => matchesName(pattern, request.script));

	for (const rule of policy.rules.filter(rule => rule.effect === 'deny' && applies(rule))) {
		const flag = rule.forbid ? findForbiddenFlag(request.args, rule.forbid, rule.flags) : undefined;
		const conditions = [rule.forbid ? flag !== undefined : undefined, rule.window ? inWindow(rule.window, now) : undefined].filter(value => value !== undefined);
		if (conditions.every(Boolean)) {
			return {allowed: false, rule: rule.name, reason: `denied by rule "${rule.name}"${flag ? `: ${flag}` : ''}`};
		}
	}

	let closest: string | undefined;
	for (const rule of policy.rules.filter(rule => rule.effect === 'allow' && applies(rule))) {
		const problem = allowProblem(rule, request, now, rates);
		if (problem === undefined) {
			return {allowed: true, rule: rule.name, reason: `allowed by rule "${rule.name}"`, charge: request.dryRun ? [] : charges(rule, request)};
		}

		closest ??= `rule "${rule.name}" does not allow it: ${problem}`;
	}

	return {allowed: false, reason: closest ?? `no rule allows ${request.caller} to run ${request.script}`};
}

function allowProblem(rule: Rule, request: PolicyRequest, now: Date, rates: RateState): string | undefined {
	if (rule.approved && !request.approved) {
		return 'the run carries no two-person approval';
	}

	const flag = rule.forbid ? findForbiddenFlag(request.args, rule.forbid, rule.flags) : undefined;
	if (flag) {
		return `argument ${flag}`;
	}

	if (rule.maxCount !== undefined && request.args.length > rule.maxCount) {
		return `${request.args.length} arguments, at most ${rule.maxCount}`;
	}

	for (const [index, position] of (rule.positions ?? []).entries()) {
		const argument = request.args[index];
		if (argument === undefined) {
			continue;
		}

		if (position.enum && !position.enum.includes(argument)) {
			return `argument ${index + 1} ${JSON.stringify(argument)} is not one of ${position.enum.map(item => JSON.stringify(item)).join(', ')}`;
		}

		if (position.pattern && !position.pattern.test(argument)) {
			return `argument ${index + 1} ${JSON.stringify(argument)} does not match ${position.source}`;
		}
	}

	if (rule.window && !inWindow(rule.window, now)) {
		return 'outside its time window';
	}

	return rateProblem(rule, request, now, rates);
}

function matchesName(pattern: string, name: string): boolean {
	return pattern === '*' || pattern === name || (pattern.endsWith('*') && name.startsWith(pattern.slice(0, -1)));
}
