/**
 * Reads a policy file's rules once (engine.ts says what they mean), reporting every problem with
 * the rule and field it is in: one problem per rule, the first in the order below. A key the
 * engine does not know, anywhere, is a problem: a misspelled or misplaced condition would
 * otherwise make a rule broader than written. Each part of a rule has its validator, which
 * reports through `fail` and answers undefined when the part is wrong. Pure.
 */
import {optionSyntaxes, shortOptionsPattern, shortOptionSyntaxes, type FlagRules, type OptionSyntax} from './flags.js';
import {isObject, stringList, unknownKey} from './json-checks.js';
import type {Policy, PositionRule, Rule} from './policy-rule.js';
import {parseRateLimits} from './rate-limits.js';
import {compileGuardedPattern} from './safe-pattern.js';
import {parseWindow} from './time-window.js';

type Fail = (message: string) => void;
type RuleHead = Pick<Rule, 'name' | 'effect' | 'callers' | 'scripts' | 'approved'>;
type ArgsRules = Pick<Rule, 'forbid' | 'flags' | 'positions' | 'maxCount'>;

/** The keys each part of a policy may have: anything else is refused, so a misspelled condition never quietly drops out. */
const knownKeys = {
	rule: ['name', 'effect', 'callers', 'scripts', 'args', 'window', 'rate', 'approved'],
	args: ['forbid', 'options', 'shortOptions', 'longOptions', 'positions', 'maxCount'],
	position: ['enum', 'pattern'],
	window: ['days', 'hours', 'timeZone'],
	rate: ['perCaller', 'perScript'],
} as const;

/** `topLevel` names the keys the file may have besides "rules" (policy-file.ts adds "central"). */
export function parsePolicy(value: unknown, topLevel: readonly string[] = ['rules']): {ok: true; policy: Policy} | {ok: false; problems: string[]} {
	const raw = (value as {rules?: unknown} | null)?.rules;
	if (!isObject(value) || !Array.isArray(raw)) {
		return {ok: false, problems: ['a policy is {"rules": [...]}']};
	}

	const problems: string[] = [];
	const extraTop = unknownKey(value, topLevel, 'the policy');
	if (extraTop) {
		problems.push(extraTop);
	}

	const rules: Rule[] = [];
	for (const [index, entry] of raw.entries()) {
		if (!isObject(entry)) {
			problems.push(`rule ${index + 1}: a rule must be an object`);
			continue;
		}

		const name = typeof entry['name'] === 'string' ? entry['name'] : `rule ${index + 1}`;
		const rule = parseRule(entry, name, message => problems.push(`${name}: ${message}`));
		if (rule) {
			rules.push(rule);
		}
	}

	return problems.length > 0 ? {ok: false, problems} : {ok: true, policy: {rules}};
}

function parseRule(rule: Record<string, unknown>, name: string, fail: Fail): Rule | undefined {
	const extra = unknownKeyInRule(rule);
	if (extra) {
		fail(extra);
		return undefined;
	}

	const head = parseHead(rule, name, fail);
	if (!head) {
		return undefined;
	}

	const args = rule['args'] === undefined ? {} : parseArgs(rule['args'], fail);
	if (!args) {
		return undefined;
	}

	const window = rule['window'] === undefined ? {} : optional('window', parseWindow(rule['window'], fail));
	if (!window) {
		return undefined;
	}

	const rate = rule['rate'] === undefined ? {} : optional('rate', parseRateLimits(rule['rate'], fail));
	return rate && {...head, ...args, ...window, ...rate};
}

/** `{[key]: value}`, or undefined when the validator failed (it has said why). */
function optional<K extends string, T>(key: K, value: T | undefined): Record<K, T> | undefined {
	return value === undefined ? undefined : {[key]: value} as Record<K, T>;
}

function unknownKeyInRule(rule: Record<string, unknown>): string | undefined {
	return unknownKey(rule, knownKeys.rule, 'the rule')
		?? (isObject(rule['args']) ? unknownKey(rule['args'], knownKeys.args, '"args"') : undefined)
		?? (isObject(rule['window']) ? unknownKey(rule['window'], knownKeys.window, '"window"') : undefined)
		?? (isObject(rule['rate']) ? unknownKey(rule['rate'], knownKeys.rate, '"rate"') : undefined);
}

/** Effect, callers, scripts and `approved`: whom and what the rule is about. */
function parseHead(rule: Record<string, unknown>, name: string, fail: Fail): RuleHead | undefined {
	const effect = rule['effect'];
	if (effect !== 'allow' && effect !== 'deny') {
		fail('"effect" must be "allow" or "deny"');
		return undefined;
	}

	const callers = stringList(rule['callers']);
	const scripts = stringList(rule['scripts']);
	if (!callers || callers.length === 0 || !scripts || scripts.length === 0) {
		fail('"callers" and "scripts" must be non-empty lists of strings ("*" for any)');
		return undefined;
	}

	if (rule['approved'] === undefined) {
		return {name, effect, callers, scripts};
	}

	if (rule['approved'] !== true || effect !== 'allow') {
		fail('"approved" is true, on an allow rule: it then allows only runs that carry a two-person approval');
		return undefined;
	}

	return {name, effect, callers, scripts, approved: true};
}

/** `args`: forbidden flags (with how the program reads its options), positions, a maximum count. */
function parseArgs(args: unknown, fail: Fail): ArgsRules | undefined {
	if (!isObject(args)) {
		fail('"args" must be an object');
		return undefined;
	}

	const forbid = args['forbid'] === undefined ? [] : stringList(args['forbid']);
	if (!forbid) {
		fail('"args.forbid" must be a list of flags');
		return undefined;
	}

	const flags = parseFlagRules(args, fail);
	if (!flags) {
		return undefined;
	}

	const positions = args['positions'] === undefined ? {} : optional('positions', parsePositions(args['positions'], fail));
	if (!positions) {
		return undefined;
	}

	const maxCount = parseMaxCount(args['maxCount'], fail);
	return maxCount && {...(forbid.length > 0 ? {forbid} : {}), ...flags, ...positions, ...maxCount};
}

/** `options`, `shortOptions` and `longOptions`: how the program parses its options (flags.ts). */
function parseFlagRules(args: Record<string, unknown>, fail: Fail): {flags?: FlagRules} | undefined {
	const syntax = args['options'];
	if (syntax !== undefined && !optionSyntaxes.includes(syntax as OptionSyntax)) {
		fail(`"args.options" says how the program parses its options: one of ${optionSyntaxes.map(item => JSON.stringify(item)).join(', ')}`);
		return undefined;
	}

	const shortOptions = args['shortOptions'];
	if (shortOptions !== undefined && (typeof shortOptions !== 'string' || !shortOptionsPattern.test(shortOptions))) {
		fail('"args.shortOptions" is the program\'s getopt option string, letters each followed by ":" when it takes a value, such as "cvf:C:I:"');
		return undefined;
	}

	if (shortOptions !== undefined && !shortOptionSyntaxes.includes(syntax as OptionSyntax)) {
		fail(`"args.shortOptions" needs "args.options" to be ${shortOptionSyntaxes.map(item => JSON.stringify(item)).join(', ')} (how the program reads them)`);
		return undefined;
	}

	const longOptions = args['longOptions'] === undefined ? [] : stringList(args['longOptions']);
	if (!longOptions || longOptions.some(option => !/^--[^-=][^=]*=?$/.test(option))) {
		fail('"args.longOptions" must list the program\'s long options such as "--checkpoint", with "=" after one that takes a value ("--file=")');
		return undefined;
	}

	if (syntax === undefined && longOptions.length === 0) {
		return {};
	}

	return {flags: {...(syntax === undefined ? {} : {syntax: syntax as OptionSyntax}), ...(typeof shortOptions === 'string' ? {shortOptions} : {}), ...(longOptions.length > 0 ? {longOptions} : {})}};
}

function parseMaxCount(value: unknown, fail: Fail): {maxCount?: number} | undefined {
	if (value === undefined) {
		return {};
	}

	if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
		fail('"args.maxCount" must be a whole number');
		return undefined;
	}

	return {maxCount: value};
}

function parsePositions(value: unknown, fail: Fail): PositionRule[] | undefined {
	if (!Array.isArray(value)) {
		fail('"args.positions" must be a list');
		return undefined;
	}

	const positions: PositionRule[] = [];
	for (const [index, item] of value.entries()) {
		const position = parsePosition(item, `args.positions[${index}]`, fail);
		if (!position) {
			return undefined;
		}

		positions.push(position);
	}

	return positions;
}

/** One position: `{"enum": [...]}` and/or `{"pattern": "..."}` (a guarded pattern, safe-pattern.ts). */
function parsePosition(item: unknown, where: string, fail: Fail): PositionRule | undefined {
	if (!isObject(item)) {
		fail(`"${where}" must be an object such as {"enum": [...]} or {"pattern": "..."}`);
		return undefined;
	}

	const extra = unknownKey(item, knownKeys.position, `"${where}"`);
	if (extra) {
		fail(extra);
		return undefined;
	}

	const rule: PositionRule = {};
	if (item['enum'] !== undefined) {
		const values = stringList(item['enum']);
		if (!values) {
			fail(`"${where}.enum" must be a list of strings`);
			return undefined;
		}

		rule.enum = values;
	}

	const pattern = item['pattern'];
	if (pattern !== undefined) {
		const compiled = typeof pattern === 'string' ? compileGuardedPattern(pattern) : {ok: false as const, reason: 'must be a string'};
		if (!compiled.ok) {
			fail(`"${where}.pattern": ${compiled.reason}`);
			return undefined;
		}

		rule.pattern = compiled.pattern;
		rule.source = pattern as string;
	}

	return rule;
}
