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
import {tagKeyPattern, type Tags} from './tags.js';

export type TagTerm = {key: string; value: string; glob?: RegExp};
export type Body = {kind: 'all'} | {kind: 'names'; names: ReadonlySet<string>; globs: RegExp[]} | {kind: 'tags'; tags: TagTerm[]};
export type Clause = {text: string; exclude: boolean; body: Body};
export type Selector = {clauses: Clause[]; source: string[]};

export type SelectorParse = {ok: true; selector: Selector} | {ok: false; reason: string};

/** What one selector may ask for: enough for a 10,000-host fleet several times over, not a memory bomb. */
export const selectorLimits = {values: 1024, valueChars: 4096, names: 100_000} as const;

type Agent = {name: string; tags: Tags};
type Problem = {at: number; message: string};

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

function parseClause(value: string): Clause | string {
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

		const expanded = expandPattern(item.text, item.at);
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

/** `web[01-03,7]` → web01 web02 web03 web07; checks every character and counts before expanding. */
function expandPattern(text: string, at: number): {names: string[]} | Problem {
	const parts: string[][] = [];
	let count = 1;
	for (let index = 0; index < text.length;) {
		const char = text[index]!;
		if (char === '[') {
			const close = text.indexOf(']', index);
			const ranges = expandRanges(text.slice(index + 1, close), at + index + 1);
			if ('message' in ranges) {
				return ranges;
			}

			count *= ranges.length;
			if (count > selectorLimits.names) {
				return {at: at + index, message: `this range makes more than ${selectorLimits.names} names`};
			}

			parts.push(ranges);
			index = close + 1;
		} else if (/[a-z0-9.*-]/.test(char)) {
			parts.push([char]);
			index++;
		} else {
			return {at: at + index, message: /[A-Z]/.test(char)
				? `agent names are lower-case: ${JSON.stringify(char)} cannot match`
				: `${JSON.stringify(char)} cannot appear in an agent name (a-z 0-9 . - and * to match any run)`};
		}
	}

	let names = [''];
	for (const choices of parts) {
		names = names.flatMap(prefix => choices.map(choice => prefix + choice));
	}

	return {names};
}

function expandRanges(text: string, at: number): string[] | Problem {
	if (text === '') {
		return {at: at - 1, message: 'empty brackets: put numbers or ranges in them, as in [1-3]'};
	}

	const out: string[] = [];
	let position = at;
	for (const range of text.split(',')) {
		const match = /^(\d+)(?:-(\d+))?$/.exec(range);
		if (!match) {
			return {at: position, message: range === '' ? 'an empty range (two commas in a row, or a comma at an end)' : `${JSON.stringify(range)} is not a number or a range N-M`};
		}

		const [first, last = first] = [match[1]!, match[2]];
		const width = first.length > 1 && first.startsWith('0') ? first.length : 0;
		const from = Number(first);
		const to = Number(last);
		if (to < from) {
			return {at: position, message: `the range ${range} runs downwards; write ${last}-${first}`};
		}

		if (last.length > 1 && last.startsWith('0') && last.length !== first.length) {
			return {at: position, message: `the ends of ${range} have different widths; pad both (${last.padStart(Math.max(first.length, last.length), '0')}) or neither`};
		}

		if (to - from >= selectorLimits.names) {
			return {at: position, message: `the range ${range} makes more than ${selectorLimits.names} names`};
		}

		for (let number = from; number <= to; number++) {
			out.push(String(number).padStart(width, '0'));
		}

		position += range.length + 1;
	}

	return out;
}

function globToRegExp(pattern: string): RegExp {
	return new RegExp(`^${pattern.split('*').map(part => part.replaceAll(/[.+?^${}()|[\]\\/-]/g, '\\$&')).join('.*')}$`, 's');
}

export function matchesSelector(selector: Selector, agent: Agent): boolean {
	return selector.clauses.some(clause => !clause.exclude && matchesBody(clause.body, agent))
		&& !selector.clauses.some(clause => clause.exclude && matchesBody(clause.body, agent));
}

function matchesBody(body: Body, agent: Agent): boolean {
	switch (body.kind) {
		case 'all': {
			return true;
		}

		case 'names': {
			return body.names.has(agent.name) || body.globs.some(glob => glob.test(agent.name));
		}

		case 'tags': {
			return body.tags.every(({key, value, glob}) => Object.hasOwn(agent.tags, key) && (glob ? glob.test(agent.tags[key]!) : agent.tags[key] === value));
		}
	}
}

export function selectAgents<A extends Agent>(selector: Selector, agents: readonly A[]): A[] {
	return agents.filter(agent => matchesSelector(selector, agent));
}

export type Selection<A> = {
	agents: A[];
	/** Names given in full (no `*`) that no registered agent has, in the order given. */
	unknownNames: string[];
	/** Exclusions that match no registered agent at all: most likely a misspelt name. */
	emptyExclusions: string[];
	/** Exclusions that match registered agents, none of them selected: nothing was removed. */
	idleExclusions: string[];
};

/** The agents a selector picks, with what an operator should hear about (a typo, a no-op exclusion). */
export function resolveSelection<A extends Agent>(selector: Selector, agents: readonly A[]): Selection<A> {
	const picked = selectAgents(selector, agents);
	const registered = new Set(agents.map(agent => agent.name));
	const unknownNames = [...new Set(selector.clauses.flatMap(clause => clause.body.kind === 'names' && !clause.exclude ? [...clause.body.names] : []))]
		.filter(name => !registered.has(name));
	const emptyExclusions: string[] = [];
	const idleExclusions: string[] = [];
	const included = selector.clauses.filter(clause => !clause.exclude);
	for (const clause of selector.clauses.filter(clause => clause.exclude)) {
		const matched = agents.filter(agent => matchesBody(clause.body, agent));
		if (matched.length === 0) {
			emptyExclusions.push(clause.text);
		} else if (!matched.some(agent => included.some(include => matchesBody(include.body, agent)))) {
			idleExclusions.push(clause.text);
		}
	}

	return {agents: picked, unknownNames, emptyExclusions, idleExclusions};
}

/** A selector as the REST API takes it: a list of clauses, or one string of clauses separated by white space. */
export function selectorValues(on: string | readonly string[]): string[] {
	return typeof on === 'string' ? on.split(/\s+/).filter(value => value !== '') : [...on];
}

/**
 * The console's filter box through the same grammar: whitespace-separated clauses (OR, `!` to
 * remove). Empty text selects every agent.
 */
export function filterBySelector<A extends Agent>(text: string, agents: readonly A[]): {ok: true; agents: A[]} | {ok: false; reason: string} {
	const values = text.split(/\s+/).filter(value => value !== '');
	if (values.length === 0) {
		return {ok: true, agents: [...agents]};
	}

	const parsed = parseSelector(values.every(value => value.startsWith('!')) ? ['all', ...values] : values);
	return parsed.ok ? {ok: true, agents: selectAgents(parsed.selector, agents)} : parsed;
}

/**
 * The lines of a selector file (`--on @FILE`, `--on -`): clauses separated by white space or new
 * lines, `#` to the end of a line is a comment. Each value carries its line for error messages.
 */
export function selectorFileValues(text: string, origin: string): Array<{value: string; where: string}> {
	return text.split(/\r?\n/).flatMap((line, index) => line.replace(/#.*$/, '').split(/\s+/)
		.filter(value => value !== '')
		.map(value => ({value, where: `${origin} line ${index + 1}`})));
}

export type SelectorArguments = {on: readonly string[]; exclude: readonly string[]};

/**
 * `--on` and `--exclude` as the CLI takes them, to the values `parseSelector` reads: `@FILE` and
 * `-` (standard input, once) are read through `read`, `--exclude X` becomes `!X`. A value from a
 * file that does not parse is named with its file and line.
 */
export function expandSelectorArguments(input: SelectorArguments, read: (source: string) => string): {ok: true; values: string[]} | {ok: false; reason: string} {
	const values: string[] = [];
	const sources = [...input.on.map(value => ({value, flag: '--on'})), ...input.exclude.map(value => ({value, flag: '--exclude'}))];
	if (sources.filter(source => source.value === '-').length > 1) {
		return {ok: false, reason: 'standard input can be read once: give "-" to one --on or --exclude'};
	}

	for (const {value, flag} of sources) {
		const fromFile = value === '-' || value.startsWith('@');
		const origin = value === '-' ? 'standard input' : value.slice(1);
		if (value === '@') {
			return {ok: false, reason: `${flag} @: give the file after "@", as in ${flag} @hosts.txt`};
		}

		const entries = fromFile ? selectorFileValues(read(origin === 'standard input' ? '-' : origin), origin) : [{value, where: ''}];
		for (const entry of entries) {
			const where = entry.where === '' ? flag : entry.where;
			if (fromFile && (entry.value.startsWith('@') || entry.value === '-')) {
				return {ok: false, reason: `${where}: ${JSON.stringify(entry.value)}: a selector file cannot name another file or standard input`};
			}

			if (flag === '--exclude' && entry.value.startsWith('!')) {
				return {ok: false, reason: `${where}: ${JSON.stringify(entry.value)}: --exclude already removes; drop the "!"`};
			}

			const clause = flag === '--exclude' ? `!${entry.value}` : entry.value;
			const parsed = parseClause(clause);
			if (typeof parsed === 'string') {
				return {ok: false, reason: `${where}: ${parsed}`};
			}

			values.push(clause);
		}

		if (fromFile && entries.length === 0) {
			return {ok: false, reason: `${origin} has no selector in it (only blank lines or # comments)`};
		}
	}

	return {ok: true, values};
}
