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
 */
import {findForbiddenFlag, optionSyntaxes, shortOptionsPattern, shortOptionSyntaxes, type FlagRules, type OptionSyntax} from './flags.js';
import {compileGuardedPattern} from './safe-pattern.js';

/** `approved`: the run carries a two-person approval (the central endpoint confirms it is genuine). */
export type PolicyRequest = {caller: string; token?: {id: string; name: string} | null; script: string; args: readonly string[]; dryRun?: boolean; approved?: boolean};
export type Decision = {allowed: boolean; reason: string; rule?: string; charge?: RateCharge[]};
export type RateCharge = {key: string; windowMs: number};
/** Timestamps (ms) of earlier allowed calls, per rate key. */
export type RateState = Record<string, number[]>;

type PositionRule = {enum?: string[]; pattern?: RegExp; source?: string};
type Rule = {
	name: string;
	effect: 'allow' | 'deny';
	callers: string[];
	scripts: string[];
	forbid?: string[];
	/** How the program parses its options (flags.ts), for matching `forbid`. */
	flags?: FlagRules;
	positions?: PositionRule[];
	maxCount?: number;
	window?: {days?: number[]; from?: number; to?: number; timeZone: string};
	rate?: {perCaller?: {count: number; windowMs: number}; perScript?: {count: number; windowMs: number}};
	/** An allow rule that holds only for a run carrying a two-person approval. */
	approved?: true;
};

export type Policy = {rules: Rule[]};

const dayNames = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** The keys each part of a policy may have: anything else is refused, so a misspelled condition never quietly drops out. */
const knownKeys = {
	rule: ['name', 'effect', 'callers', 'scripts', 'args', 'window', 'rate', 'approved'],
	args: ['forbid', 'options', 'shortOptions', 'longOptions', 'positions', 'maxCount'],
	position: ['enum', 'pattern'],
	window: ['days', 'hours', 'timeZone'],
	rate: ['perCaller', 'perScript'],
} as const;

/** `unknown key "x" in the rule (it takes ...)` for the first key not in `known`, else undefined. */
export function unknownKey(value: Record<string, unknown>, known: readonly string[], where: string): string | undefined {
	const extra = Object.keys(value).find(key => !known.includes(key));
	return extra === undefined ? undefined : `unknown key ${JSON.stringify(extra)} in ${where} (it takes ${known.map(key => JSON.stringify(key)).join(', ')})`;
}

/**
 * Parses and checks a policy file once; every problem is reported, naming the rule and field. A
 * key the engine does not know, anywhere, is a problem: a misspelled or misplaced condition
 * would otherwise make a rule broader than written. `topLevel` names the keys the file may have
 * besides "rules" (policy-file.ts adds "central").
 */
export function parsePolicy(value: unknown, topLevel: readonly string[] = ['rules']): {ok: true; policy: Policy} | {ok: false; problems: string[]} {
	const problems: string[] = [];
	const rules: Rule[] = [];
	const raw = (value as {rules?: unknown} | null)?.rules;
	if (!isObject(value) || !Array.isArray(raw)) {
		return {ok: false, problems: ['a policy is {"rules": [...]}']};
	}

	const extraTop = unknownKey(value, topLevel, 'the policy');
	if (extraTop) {
		problems.push(extraTop);
	}

	for (const [index, entry] of raw.entries()) {
		if (!isObject(entry)) {
			problems.push(`rule ${index + 1}: a rule must be an object`);
			continue;
		}

		const rule = entry;
		const name = typeof rule['name'] === 'string' ? rule['name'] : `rule ${index + 1}`;
		const fail = (message: string) => problems.push(`${name}: ${message}`);
		const extra = unknownKey(rule, knownKeys.rule, 'the rule')
			?? (isObject(rule['args']) ? unknownKey(rule['args'], knownKeys.args, '"args"') : undefined)
			?? (isObject(rule['window']) ? unknownKey(rule['window'], knownKeys.window, '"window"') : undefined)
			?? (isObject(rule['rate']) ? unknownKey(rule['rate'], knownKeys.rate, '"rate"') : undefined);
		if (extra) {
			fail(extra);
			continue;
		}
		if (rule['effect'] !== 'allow' && rule['effect'] !== 'deny') {
			fail('"effect" must be "allow" or "deny"');
			continue;
		}

		const callers = stringList(rule['callers']);
		const scripts = stringList(rule['scripts']);
		if (!callers || callers.length === 0 || !scripts || scripts.length === 0) {
			fail('"callers" and "scripts" must be non-empty lists of strings ("*" for any)');
			continue;
		}

		const parsed: Rule = {name, effect: rule['effect'], callers, scripts};
		if (rule['approved'] !== undefined) {
			if (rule['approved'] !== true || rule['effect'] !== 'allow') {
				fail('"approved" is true, on an allow rule: it then allows only runs that carry a two-person approval');
				continue;
			}

			parsed.approved = true;
		}

		const args = rule['args'];
		if (args !== undefined && !isObject(args)) {
			fail('"args" must be an object');
			continue;
		}

		if (args !== undefined) {
			const forbid = args['forbid'] === undefined ? [] : stringList(args['forbid']);
			if (!forbid) {
				fail('"args.forbid" must be a list of flags');
				continue;
			}

			if (forbid.length > 0) {
				parsed.forbid = forbid;
			}

			const syntax = args['options'];
			if (syntax !== undefined && !optionSyntaxes.includes(syntax as OptionSyntax)) {
				fail(`"args.options" says how the program parses its options: one of ${optionSyntaxes.map(item => JSON.stringify(item)).join(', ')}`);
				continue;
			}

			const shortOptions = args['shortOptions'];
			if (shortOptions !== undefined && (typeof shortOptions !== 'string' || !shortOptionsPattern.test(shortOptions))) {
				fail('"args.shortOptions" is the program\'s getopt option string, letters each followed by ":" when it takes a value, such as "cvf:C:I:"');
				continue;
			}

			if (shortOptions !== undefined && !shortOptionSyntaxes.includes(syntax as OptionSyntax)) {
				fail(`"args.shortOptions" needs "args.options" to be ${shortOptionSyntaxes.map(item => JSON.stringify(item)).join(', ')} (how the program reads them)`);
				continue;
			}

			const longOptions = args['longOptions'] === undefined ? [] : stringList(args['longOptions']);
			if (!longOptions || longOptions.some(option => !/^--[^-=][^=]*=?$/.test(option))) {
				fail('"args.longOptions" must list the program\'s long options such as "--checkpoint", with "=" after one that takes a value ("--file=")');
				continue;
			}

			if (syntax !== undefined || longOptions.length > 0) {
				parsed.flags = {...(syntax === undefined ? {} : {syntax: syntax as OptionSyntax}), ...(typeof shortOptions === 'string' ? {shortOptions} : {}), ...(longOptions.length > 0 ? {longOptions} : {})};
			}

			if (args['positions'] !== undefined) {
				const positions = parsePositions(args['positions'], fail);
				if (!positions) {
					continue;
				}

				parsed.positions = positions;
			}

			if (args['maxCount'] !== undefined) {
				if (!Number.isInteger(args['maxCount']) || (args['maxCount'] as number) < 0) {
					fail('"args.maxCount" must be a whole number');
					continue;
				}

				parsed.maxCount = args['maxCount'] as number;
			}
		}

		if (rule['window'] !== undefined) {
			const window = parseWindow(rule['window'], fail);
			if (!window) {
				continue;
			}

			parsed.window = window;
		}

		if (rule['rate'] !== undefined) {
			const rate = rule['rate'];
			if (!isObject(rate)) {
				fail('"rate" must be an object');
				continue;
			}

			const perCaller = rate['perCaller'] === undefined ? undefined : parseRate(rate['perCaller']);
			const perScript = rate['perScript'] === undefined ? undefined : parseRate(rate['perScript']);
			if (perCaller === null || perScript === null) {
				fail('"rate.perCaller" and "rate.perScript" look like "10/1h" (count / 30s, 5m, 1h or 1d)');
				continue;
			}

			parsed.rate = {...(perCaller ? {perCaller} : {}), ...(perScript ? {perScript} : {})};
		}

		rules.push(parsed);
	}

	return problems.length > 0 ? {ok: false, problems} : {ok: true, policy: {rules}};
}

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

	for (const {key, limit} of rateKeys(rule, request)) {
		const recent = (rates[key] ?? []).filter(time => time > now.getTime() - limit.windowMs);
		if (recent.length >= limit.count) {
			return `rate limit reached (${limit.count} per ${limit.windowMs / 1000} s for ${key.split('|')[1]})`;
		}
	}

	return undefined;
}

function rateKeys(rule: Rule, request: PolicyRequest) {
	return [
		...(rule.rate?.perCaller ? [{key: `${rule.name}|caller ${request.token ? `token:${request.token.name}` : request.caller}`, limit: rule.rate.perCaller}] : []),
		...(rule.rate?.perScript ? [{key: `${rule.name}|script ${request.script}`, limit: rule.rate.perScript}] : []),
	];
}

function charges(rule: Rule, request: PolicyRequest): RateCharge[] {
	return rateKeys(rule, request).map(({key, limit}) => ({key, windowMs: limit.windowMs}));
}

/** Records allowed calls in the rate state, forgetting what is older than every window. */
export function applyCharges(rates: RateState, charge: readonly RateCharge[], now: Date): RateState {
	const next: RateState = {...rates};
	for (const {key, windowMs} of charge) {
		next[key] = [...(next[key] ?? []).filter(time => time > now.getTime() - windowMs), now.getTime()];
	}

	return next;
}

function matchesName(pattern: string, name: string): boolean {
	return pattern === '*' || pattern === name || (pattern.endsWith('*') && name.startsWith(pattern.slice(0, -1)));
}

function inWindow(window: NonNullable<Rule['window']>, now: Date): boolean {
	const parts = new Intl.DateTimeFormat('en-GB', {timeZone: window.timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23'}).formatToParts(now);
	const part = (type: string) => parts.find(item => item.type === type)?.value ?? '';
	const day = dayNames.indexOf(part('weekday').toLowerCase().slice(0, 3));
	const minute = (Number(part('hour')) * 60) + Number(part('minute'));
	if (window.days && !window.days.includes(day)) {
		return false;
	}

	if (window.from !== undefined && window.to !== undefined) {
		return window.from <= window.to ? minute >= window.from && minute < window.to : minute >= window.from || minute < window.to;
	}

	return true;
}

function parseWindow(value: unknown, fail: (message: string) => void): Rule['window'] | undefined {
	if (!isObject(value)) {
		fail('"window" must be an object');
		return undefined;
	}

	const window = value as {days?: unknown; hours?: unknown; timeZone?: unknown};
	const timeZone = window.timeZone ?? 'UTC';
	if (typeof timeZone !== 'string' || !isTimeZone(timeZone)) {
		fail(`"window.timeZone" ${JSON.stringify(timeZone)} is not a time zone`);
		return undefined;
	}

	const parsed: NonNullable<Rule['window']> = {timeZone};
	if (window.days !== undefined) {
		const days = stringList(window.days)?.map(day => dayNames.indexOf(day.toLowerCase().slice(0, 3)));
		if (!days || days.includes(-1)) {
			fail('"window.days" must list days such as "mon", "tue"');
			return undefined;
		}

		parsed.days = days;
	}

	if (window.hours !== undefined) {
		const match = typeof window.hours === 'string' ? /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$/.exec(window.hours) : null;
		if (!match) {
			fail('"window.hours" must look like "08:00-18:00"');
			return undefined;
		}

		parsed.from = (Number(match[1]) * 60) + Number(match[2]);
		parsed.to = (Number(match[3]) * 60) + Number(match[4]);
	}

	return parsed;
}

function parsePositions(value: unknown, fail: (message: string) => void): PositionRule[] | undefined {
	if (!Array.isArray(value)) {
		fail('"args.positions" must be a list');
		return undefined;
	}

	const positions: PositionRule[] = [];
	for (const [index, item] of value.entries()) {
		if (!isObject(item)) {
			fail(`"args.positions[${index}]" must be an object such as {"enum": [...]} or {"pattern": "..."}`);
			return undefined;
		}

		const extra = unknownKey(item, knownKeys.position, `"args.positions[${index}]"`);
		if (extra) {
			fail(extra);
			return undefined;
		}

		const position = item as {enum?: unknown; pattern?: unknown};
		const rule: PositionRule = {};
		if (position.enum !== undefined) {
			const values = stringList(position.enum);
			if (!values) {
				fail(`"args.positions[${index}].enum" must be a list of strings`);
				return undefined;
			}

			rule.enum = values;
		}

		if (position.pattern !== undefined) {
			const compiled = typeof position.pattern === 'string' ? compileGuardedPattern(position.pattern) : {ok: false as const, reason: 'must be a string'};
			if (!compiled.ok) {
				fail(`"args.positions[${index}].pattern": ${compiled.reason}`);
				return undefined;
			}

			rule.pattern = compiled.pattern;
			rule.source = position.pattern as string;
		}

		positions.push(rule);
	}

	return positions;
}

function parseRate(value: unknown): {count: number; windowMs: number} | null {
	const match = typeof value === 'string' ? /^(\d+)\/(\d+)([smhd])$/.exec(value) : null;
	if (!match || Number(match[1]) < 1) {
		return null;
	}

	return {count: Number(match[1]), windowMs: Number(match[2]) * {s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000}[match[3] as 's']};
}

function isTimeZone(timeZone: string): boolean {
	try {
		new Intl.DateTimeFormat('en-GB', {timeZone}).format(0);
		return true;
	} catch {
		return false;
	}
}

export function isObject(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringList(value: unknown): string[] | undefined {
	return Array.isArray(value) && value.every(item => typeof item === 'string') ? value : undefined;
}
