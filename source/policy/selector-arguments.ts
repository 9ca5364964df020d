/**
 * The forms a selector arrives in before it is parsed: the REST API's list or string, a selector
 * file's lines, and the CLI's --on/--exclude values with @FILE and standard input. Pure: files
 * are read through the `read` port.
 */
import {parseClause} from './selector-parse.js';

/** A selector as the REST API takes it: a list of clauses, or one string of clauses separated by white space. */
export function selectorValues(on: string | readonly string[]): string[] {
	return typeof on === 'string' ? on.split(/\s+/).filter(value => value !== '') : [...on];
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
