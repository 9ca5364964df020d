/**
 * The `approvals` section of the controller's policy file (`policy.json` in the controller's
 * home): which runs wait for a second operator, who may approve them, how many must, and how
 * long a request waits. Checked whole when read; every problem is reported, naming the rule and
 * the field, and a key the parser does not know is refused anywhere (a misspelt condition would
 * otherwise make a rule match more, or less, than written). Pure.
 *
 *   {"approvals": {"rules": [{
 *     "name": "production restarts",
 *     "scripts": ["restart-*"],          globs of script names (required)
 *     "on": ["env=production"],          the rule applies when any target matches (the --on grammar)
 *     "minTargets": 5,                   ... and the run has at least this many targets
 *     "callers": ["token:contractor-*", "ai"],   ... and the caller matches ("*" any, the default)
 *     "confirm": true,                   ... and a target's allowlist entry says `confirm`
 *     "approvers": ["token:lead-*", "token:bob"],   operator tokens, by name or glob (required)
 *     "quorum": 2,                       distinct approvers needed (default 1)
 *     "expires": "30m"}]}}               how long the request, and then its approval, lasts (default 1h)
 *
 * A rule states conditions; a run needs approval when every condition of some rule holds. When
 * several rules match, each must be satisfied (the strictest wins: every rule's quorum, the
 * shortest expiry).
 */
import {isObject, unknownKey} from '../policy/json-checks.js';
import {parseSelector, type Selector} from '../policy/selector.js';
import {globMatches} from './glob.js';

export type ApprovalRule = {
	name: string;
	scripts: string[];
	on?: {values: string[]; selector: Selector};
	minTargets?: number;
	callers: string[];
	confirm?: boolean;
	approvers: string[];
	quorum: number;
	expiresMs: number;
};

export type ApprovalPolicy = {rules: ApprovalRule[]};

export const noApprovals: ApprovalPolicy = {rules: []};

const ruleKeys = ['name', 'scripts', 'on', 'minTargets', 'callers', 'confirm', 'approvers', 'quorum', 'expires'] as const;
const defaultExpiresMs = 60 * 60 * 1000;
const maxExpiresMs = 30 * 24 * 60 * 60 * 1000;
const maxQuorum = 10;
/** The callers a rule can name: an AI caller (the MCP face), any caller, or tokens by name glob. */
const callerPattern = /^(\*|ai|token:[a-z0-9*][a-z0-9._*-]{0,62})$/;
const approverPattern = /^token:[a-z0-9*][a-z0-9._*-]{0,62}$/;
const scriptGlobPattern = /^[a-z0-9*][a-z0-9._*-]{0,127}$/;

export type PolicyParse = {ok: true; policy: ApprovalPolicy} | {ok: false; problems: string[]};

/** Parses the whole controller policy file: `{"approvals": {...}}`, nothing else at its top. */
export function parseControllerPolicy(value: unknown): PolicyParse {
	if (!isObject(value)) {
		return {ok: false, problems: ['the controller policy file is a JSON object: {"approvals": {"rules": [...]}}']};
	}

	const extra = unknownKey(value, ['approvals'], 'the controller policy file');
	if (extra) {
		return {ok: false, problems: [extra]};
	}

	return value['approvals'] === undefined ? {ok: true, policy: noApprovals} : parseApprovals(value['approvals']);
}

export function parseApprovals(value: unknown): PolicyParse {
	if (!isObject(value) || !Array.isArray(value['rules'])) {
		return {ok: false, problems: ['"approvals" is {"rules": [...]}']};
	}

	const extra = unknownKey(value, ['rules'], '"approvals"');
	const problems: string[] = extra ? [extra] : [];
	const rules: ApprovalRule[] = [];
	const names = new Set<string>();
	for (const [index, entry] of (value['rules'] as unknown[]).entries()) {
		const parsed = parseRule(entry, index);
		if (typeof parsed === 'string') {
			problems.push(parsed);
			continue;
		}

		if (names.has(parsed.name)) {
			problems.push(`approval rule ${JSON.stringify(parsed.name)}: another rule has that name; names identify rules in the audit trail`);
			continue;
		}

		names.add(parsed.name);
		rules.push(parsed);
	}

	return problems.length > 0 ? {ok: false, problems} : {ok: true, policy: {rules}};
}

function parseRule(entry: unknown, index: number): ApprovalRule | string {
	if (!isObject(entry)) {
		return `approval rule ${index + 1}: a rule must be an object`;
	}

	const name = typeof entry['name'] === 'string' && entry['name'].trim() !== '' ? entry['name'] : undefined;
	const where = `approval rule ${name === undefined ? index + 1 : JSON.stringify(name)}`;
	const extra = unknownKey(entry, ruleKeys, 'the rule');
	if (extra) {
		return `${where}: ${extra}`;
	}

	if (name === undefined || name.length > 100) {
		return `${where}: "name" must be a non-empty string of at most 100 characters`;
	}

	const scripts = patternList(entry['scripts'], scriptGlobPattern);
	if (!scripts) {
		return `${where}: "scripts" must be a non-empty list of script names or globs ("restart-*", "*"); got ${JSON.stringify(entry['scripts'])}`;
	}

	const approvers = patternList(entry['approvers'], approverPattern);
	if (!approvers) {
		return `${where}: "approvers" must be a non-empty list of operator tokens, "token:NAME" or "token:GLOB" ("token:lead-*"); got ${JSON.stringify(entry['approvers'])}`;
	}

	const callers = entry['callers'] === undefined ? ['*'] : patternList(entry['callers'], callerPattern);
	if (!callers) {
		return `${where}: "callers" must be a non-empty list of "token:NAME", "token:GLOB", "ai" or "*"; got ${JSON.stringify(entry['callers'])}`;
	}

	let on: ApprovalRule['on'];
	if (entry['on'] !== undefined) {
		const values = Array.isArray(entry['on']) && entry['on'].every(item => typeof item === 'string') ? entry['on'] : undefined;
		const selector = values && values.length > 0 ? parseSelector(values) : undefined;
		if (!selector?.ok) {
			return `${where}: "on" must be a non-empty list of selectors in the --on grammar ("env=production")${selector ? `: ${selector.reason}` : `; got ${JSON.stringify(entry['on'])}`}`;
		}

		on = {values: values!, selector: selector.selector};
	}

	const minTargets = entry['minTargets'];
	if (minTargets !== undefined && !(Number.isSafeInteger(minTargets) && (minTargets as number) >= 1)) {
		return `${where}: "minTargets" must be a whole number of at least 1; got ${JSON.stringify(minTargets)}`;
	}

	const confirm = entry['confirm'];
	if (confirm !== undefined && confirm !== true) {
		return `${where}: "confirm" is true (the rule covers only scripts whose allowlist entry says confirm) or left out; got ${JSON.stringify(confirm)}`;
	}

	const quorum = entry['quorum'] ?? 1;
	if (!(Number.isSafeInteger(quorum) && (quorum as number) >= 1 && (quorum as number) <= maxQuorum)) {
		return `${where}: "quorum" must be a whole number from 1 to ${maxQuorum}; got ${JSON.stringify(quorum)}`;
	}

	const expiresMs = entry['expires'] === undefined ? defaultExpiresMs : parseDuration(entry['expires']);
	if (expiresMs === undefined) {
		return `${where}: "expires" must be a duration from 1m to 30d, like "30m", "12h" or "2d"; got ${JSON.stringify(entry['expires'])}`;
	}

	return {
		name,
		scripts,
		...(on ? {on} : {}),
		...(minTargets === undefined ? {} : {minTargets: minTargets as number}),
		callers,
		...(confirm ? {confirm: true} : {}),
		approvers,
		quorum: quorum as number,
		expiresMs,
	};
}

/** `30m`, `12h`, `2d` → milliseconds, within 1m..30d; undefined otherwise. */
export function parseDuration(value: unknown): number | undefined {
	const match = typeof value === 'string' ? /^([1-9]\d{0,5})([mhd])$/.exec(value) : null;
	if (!match) {
		return undefined;
	}

	const ms = Number(match[1]) * {m: 60_000, h: 3_600_000, d: 86_400_000}[match[2] as 'm' | 'h' | 'd'];
	return ms <= maxExpiresMs ? ms : undefined;
}

/** Whether a token name fits one of the `token:GLOB` patterns. */
export function tokenMatches(patterns: readonly string[], tokenName: string): boolean {
	return patterns.some(pattern => pattern.startsWith('token:') && globMatches(pattern.slice('token:'.length), tokenName));
}

function patternList(value: unknown, pattern: RegExp): string[] | undefined {
	return Array.isArray(value) && value.length > 0 && value.length <= 100 && value.every(item => typeof item === 'string' && pattern.test(item)) ? [...value as string[]] : undefined;
}
