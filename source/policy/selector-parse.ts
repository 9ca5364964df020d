/**
 * Target selection: one grammar for the CLI's `--on`, the REST API's `on`, token scopes and the
 * console's filter. Pure. Each value is one clause:
 *
 *   clause  := ['!'] body                      '!' removes what the body matches
 *   body    := 'all' | names | tags
 *   names   := pattern (',' pattern)*          any of them (OR); the grammar --group prints
 *   pattern := (char | '*' | '[' ranges ']')+  char: a-z 0-9 . -   '*': any run of characters
 *   ranges  := range (',' range)*              range: N or N-M; a leading zero sets the width (01-10)
 *   tags    := key=value (',' key=value)*      all of them (AND); '*' in a value: any run of characters
 *
 * Several bracket groups multiply (`r[1-2]n[1-3]` is six names). Several clauses: the agents that
 * any including clause matches, less those that any '!' clause matches. Errors name the value and
 * the 1-based position of what is wrong in it.
 */
import {hasControl, isAgentName} from '../protocol/text-checks.js';
import {expandPattern, type SelectorProblem as Problem} from './name-ranges.js';
import {tagKeyPattern} from './tags.js';

export type TagTerm = {key: string; value: string; glob?: RegExp};
export type Body = {kind: 'all'} | {kind: 'names'; names: ReadonlySet<string>; globs: RegExp[]} | {kind: 'tags'; tags: TagTerm[]};
export type Clause = {text: string; exclude: boolean; body: Body};
export type Selector = {clauses: Clause[]; source: string[]};

export type SelectorParse = {ok: true; selector: Selector} | {ok: false; reason: string};

/** What one selector may ask for: enough for a 10,000-host fleet several times over, not a memory bomb. */
export const selectorLimits = {values: 1024, valueChars: 4096, names: 100_000} as const;

export function parseSelector(values: readonly string[]): SelectorParse {
	if (values.length === 0) {
		return {ok: false, reason: 'no target given: pass --on with an agent name, key=value tags, or all'};
	}

	if (values.length > selectorLimits.values) {
		return {ok: false, reason: `${values.length} selector values, more than the ${selectorLimits.values} one request may give`};
	}

	const clauses: Clause[] = [];
	let named = 0;
	for (const value of values) {
		const clause = parseClause(value);
		if (typeof clause === 'string') {
			return {ok: false, reason: clause};
		}

		named += clause.body.kind === 'names' ? clause.body.names.size : 0;
		if (named > selectorLimits.names) {
			return {ok: false, reason: `the selector names more than ${selectorLimits.names} agents`};
		}

		clauses.push(clause);
	}

	if (clauses.every(clause => clause.exclude)) {
		return {ok: false, reason: `${values.map(value => JSON.stringify(value)).join(', ')} only ${values.length === 1 ? 'removes' : 'remove'} agents: say which to start from, for example --on all --on ${JSON.stringify(values[0])}`};
	}

	return {ok: true, selector: {clauses, source: [...values]}};
}

/** One value: a clause, or the sentence that says what is wrong with it. */
export function parseClause(value: string): Clause | string {
	if (hasControl(value)) {
		return `selector ${JSON.stringify(value)} contains a control character`;
	}

	if (value.length > selectorLimits.valueChars) {
		return `a selector of ${value.length} characters is longer than ${selectorLimits.valueChars}; put the names in a file and pass --on @FILE`;
	}

	const exclude = value.startsWith('!');
	const text = exclude ? value.slice(1) : value;
	const body = text === '' && exclude ? {at: 1, message: '"!" needs a selector after it, as in !web07'} : parseBody(text, exclude ? 1 : 0);
	if ('message' in body) {
		return value === ''
			? 'selector "" is empty: give an agent name, key=value tags, or all'
			: `selector ${JSON.stringify(value)}, at position ${body.at + 1}: ${body.message}`;
	}

	return {text: value, exclude, body};
}

function parseBody(text: string, offset: number): Body | Problem {
	if (text === 'all') {
		return {kind: 'all'};
	}

	const items = splitItems(text, offset);
	if (!Array.isArray(items)) {
		return items;
	}

	const tagItem = items.find(item => item.text.includes('='));
	if (tagItem) {
		const name = items.find(item => !item.text.includes('='));
		if (name) {
			return {at: name.at, message: `${JSON.stringify(name.text)} is a name among tag terms; give names and tags as separate --on values (either matches)`};
		}

		const tags: TagTerm[] = [];
		for (const item of items) {
			const term = parseTagTerm(item.text, item.at);
			if ('message' in term) {
				return term;
			}

			tags.push(term);
		}

		return {kind: 'tags', tags};
	}

	const names = new Set<string>();
	const globs: RegExp[] = [];
	for (const item of items) {
		if (item.text === 'all') {
			return {at: item.at, message: '"all" stands alone, not in a list'};
		}

		const expanded = expandPattern(item.text, item.at, selectorLimits.names);
		if ('message' in expanded) {
			return expanded;
		}

		for (const name of expanded.names) {
			if (name.includes('*')) {
				globs.push(globToRegExp(name));
			} else if (isAgentName(name)) {
				names.add(name);
			} else {
				return {at: item.at, message: `${JSON.stringify(name)} is not an agent name (it starts with a letter or digit and has at most 63 characters)`};
			}
		}

		if (names.size > selectorLimits.names) {
			return {at: item.at, message: `the names expand to more than ${selectorLimits.names} agents`};
		}
	}

	return {kind: 'names', names, globs};
}

/** Splits on the commas outside brackets; every item keeps its position. */
function splitItems(text: string, offset: number): Array<{text: string; at: number}> | Problem {
	const items: Array<{text: string; at: number}> = [];
	let start = 0;
	let open = -1;
	for (let index = 0; index <= text.length; index++) {
		const char = text[index];
		if (char === '[') {
			if (open !== -1) {
				return {at: offset + index, message: 'a "[" inside brackets: ranges do not nest; list them with commas, as in [1-3,7]'};
			}

			open = index;
		} else if (char === ']') {
			if (open === -1) {
				return {at: offset + index, message: 'a "]" with no "[" before it'};
			}

			open = -1;
		} else if ((char === ',' || char === undefined) && open === -1) {
			if (index === start) {
				return {at: offset + index, message: text === '' ? 'nothing to select' : 'an empty item (two commas in a row, or a comma at an end)'};
			}

			items.push({text: text.slice(start, index), at: offset + start});
			start = index + 1;
		}
	}

	return open === -1 ? items : {at: offset + open, message: 'this "[" is never closed'};
}

function parseTagTerm(text: string, at: number): TagTerm | Problem {
	const equals = text.indexOf('=');
	const key = text.slice(0, equals);
	const value = text.slice(equals + 1);
	if (!tagKeyPattern.test(key)) {
		return {at, message: `tag key ${JSON.stringify(key)} must match ${tagKeyPattern.source}`};
	}

	const bad = /[^A-Za-z0-9._:/@+*-]/.exec(value);
	if (bad) {
		return {at: at + equals + 1 + bad.index, message: `${JSON.stringify(bad[0])} cannot appear in a tag value (A-Z a-z 0-9 . _ : / @ + - and * to match any run)`};
	}

	if (value === '' || value.length > 128) {
		return {at: at + equals + 1, message: `tag value ${JSON.stringify(value)} must have 1 to 128 characters`};
	}

	return value.includes('*') ? {key, value, glob: globToRegExp(value)} : {key, value};
}
function globToRegExp(pattern: string): RegExp {
	return new RegExp(`^${pattern.split('*').map(part => part.replaceAll(/[.+?^${}()|[\]\\/-]/g, '\\$&')).join('.*')}$`, 's');
}
