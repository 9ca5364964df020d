/**
 * Does an argument list use a forbidden flag? Written against how programs really parse flags,
 * because an attacker will try the neighbours of each: `--force=yes`, the abbreviations `--forc`
 * and `--f` (getopt_long accepts unambiguous prefixes), `-force` (Go's flag package), for `-rf`
 * the cluster `-fr`, `-rvf` or the separate `-r -f`, and for `-I` an attached value (`-Iprog`,
 * `-I=prog`, `-Ish -c '...'`) or a cluster ending in one (`-cfIprog`). Pure.
 *
 * How the program parses its options (`syntax`, declared per policy rule):
 *   getopt, getopt_long  `-abc` is a cluster of short options, the first one that takes a value
 *                        takes the rest; `--name[=value]`, any unambiguous prefix of a long name;
 *                        options may follow operands (GNU permutes); `--` ends options.
 *   tar                  as getopt_long, and a first argument without a dash is a cluster too
 *                        (`tar cfI FILE PROG` is `tar -c -f FILE -I PROG`).
 *   ps                   as getopt_long, and every argument without a dash is a cluster of BSD
 *                        options (`ps aux`, `ps e`).
 *   none                 the program takes no options: only an argument equal to a forbidden
 *                        flag matches.
 *   (not declared)       the safe guess: as getopt_long, plus Go's single-dash long flags, and
 *                        `--` ends nothing (a script may hand its arguments on in another order).
 * Without the program's option table we cannot tell which letters take values, so every
 * character of a cluster counts as a letter used (`-fImportant` counts `-I`: over-blocking, never
 * under-). `shortOptions`, the program's getopt option string (`"cxtvf:C:I:"`: a letter followed by
 * `:` takes a value, by `::` an optional attached one), is that table: a cluster is then read
 * letter by letter as getopt reads it, and the first letter that takes a value takes the rest of
 * the word, or the next argument when nothing is attached (`-fImportant` is `-f` with the value
 * `Important`; `-f -I` gives `-f` the value `-I`; `-vI prog` still uses `-I`). A letter the string
 * does not name counts as used and takes no value (the program would refuse it; we never
 * under-block on a letter we do not know). In tar's dashless first word every letter is an
 * option and each one that takes a value takes the next argument in turn (`cfI FILE PROG`).
 * The declaration is trusted: a letter declared as taking a value that does not, would hide the
 * letters after it. `longOptions`, the program's own long options whose names are prefixes of
 * forbidden ones, keeps exact different options from being read as abbreviations
 * (`--checkpoint=1` is not `--checkpoint-action` once `--checkpoint` is declared); one written
 * with a trailing `=` (`"--file="`) takes a value, the next argument when none is attached. With a
 * declared syntax, `--` ends options where it cannot be the value of the option before it (`-f --
 * -I` gives `-f` the value `--`; `-I` is an option); with `shortOptions` that is known exactly.
 */
export const optionSyntaxes = ['getopt', 'getopt_long', 'tar', 'ps', 'none'] as const;
export type OptionSyntax = typeof optionSyntaxes[number];

export type FlagRules = {syntax?: OptionSyntax; longOptions?: readonly string[]; shortOptions?: string};

/** The syntaxes `shortOptions` applies to: the ones whose short options are getopt clusters. */
export const shortOptionSyntaxes: readonly OptionSyntax[] = ['getopt', 'getopt_long', 'tar'];

/** A getopt option string: letters or digits, each optionally followed by `:` (takes a value) or `::` (an optional attached value). */
export const shortOptionsPattern = /^(?:[A-Za-z0-9]:{0,2})+$/;

type Takes = 'value' | 'optional';

/** `"cf:I:o::"` as a table: f and I take a value, o an optional attached one, c none. */
function shortOptionTable(optionString: string): Map<string, Takes | 'none'> {
	const table = new Map<string, Takes | 'none'>();
	for (const [, letter, colons] of optionString.matchAll(/([A-Za-z0-9])(:{0,2})/g)) {
		table.set(letter!, colons === '::' ? 'optional' : colons === ':' ? 'value' : 'none');
	}

	return table;
}

type Used = {letters: Set<string>; long: Array<{argument: string; name: string}>; singleDash: Array<{argument: string; name: string}>};

type Reading = {syntax: OptionSyntax | undefined; short: Map<string, Takes | 'none'> | undefined; longWithValue: Set<string>};

/**
 * The letters of one cluster (without its dash) and how many of the following arguments are its
 * values: with a table, getopt's reading; without one, every character is a letter and the
 * caller decides about the next argument.
 */
function readCluster(cluster: string, reading: Reading, dashless: boolean): {letters: string[]; values: number} {
	if (!reading.short) {
		return {letters: [...cluster], values: 0};
	}

	const letters: string[] = [];
	let values = 0;
	for (const [index, letter] of [...cluster].entries()) {
		letters.push(letter);
		const takes = reading.short.get(letter);
		if (dashless) {
			// Old-style tar: every letter is an option; each one taking a value takes the next argument.
			values += takes === 'value' ? 1 : 0;
			continue;
		}

		if (takes === 'value' || takes === 'optional') {
			// The rest of the word is the value; with nothing attached, a required value is the next argument.
			return {letters, values: takes === 'value' && index === cluster.length - 1 ? 1 : 0};
		}
	}

	return {letters, values};
}

/** The short letters and long names `args` may use, read the way `reading` says the program parses them. */
function optionsUsed(args: readonly string[], reading: Reading): Used {
	const {syntax} = reading;
	const used: Used = {letters: new Set(), long: [], singleDash: []};
	// How many of the next arguments an option before may have taken as values, unknown to us (a `--` there ends nothing).
	let mayBeValues = 0;
	let values = 0;
	for (const [index, argument] of args.entries()) {
		const mayBeValue = mayBeValues > 0;
		mayBeValues = Math.max(0, mayBeValues - 1);
		if (values > 0) {
			// A value the option before took: whatever it looks like, it is not an option.
			values--;
			continue;
		}

		if (argument === '--' && syntax !== undefined && !mayBeValue) {
			break;
		}

		if (argument.startsWith('--') && argument.length > 2) {
			const name = argument.slice(2).split('=')[0]!;
			used.long.push({argument, name});
			if (!argument.includes('=')) {
				values = reading.longWithValue.has(name) ? 1 : 0;
				mayBeValues = Math.max(mayBeValues, values === 0 ? 1 : 0);
			}
		} else if (argument.startsWith('-') && argument.length > 1 && argument !== '--') {
			const cluster = readCluster(argument.slice(1), reading, false);
			for (const letter of cluster.letters) {
				used.letters.add(letter);
			}

			values = cluster.values;
			mayBeValues = Math.max(mayBeValues, reading.short === undefined ? 1 : 0);
			if (syntax === undefined) {
				used.singleDash.push({argument, name: argument.slice(1).split('=')[0]!});
			}
		} else if ((syntax === 'tar' && index === 0) || syntax === 'ps') {
			const cluster = readCluster(argument, reading, true);
			for (const letter of cluster.letters) {
				used.letters.add(letter);
			}

			values = cluster.values;
			// Without a table, any letter of tar's first word may take one of the arguments after it (`tar cf -- -I PROG`: `--` is the archive).
			mayBeValues = Math.max(mayBeValues, reading.short === undefined && syntax === 'tar' ? cluster.letters.length : 0);
		}
	}

	return used;
}

export function findForbiddenFlag(args: readonly string[], forbidden: readonly string[], rules: FlagRules = {}): string | undefined {
	if (rules.syntax === 'none') {
		const flag = forbidden.find(item => args.includes(item));
		return flag === undefined ? undefined : `${JSON.stringify(flag)} (forbidden)`;
	}

	const declaredLong = (rules.longOptions ?? []).map(name => name.replace(/^--/, ''));
	const short = rules.shortOptions !== undefined && rules.syntax !== undefined && shortOptionSyntaxes.includes(rules.syntax) ? shortOptionTable(rules.shortOptions) : undefined;
	const used = optionsUsed(args, {syntax: rules.syntax, short, longWithValue: new Set(declaredLong.filter(name => name.endsWith('=')).map(name => name.slice(0, -1)))});
	const exact = new Set(declaredLong.map(name => name.replace(/=$/, '')));
	for (const flag of forbidden) {
		if (flag.startsWith('--')) {
			const name = flag.slice(2);
			// An exact use, or an abbreviation getopt_long (and argparse) would expand to it: any
			// unambiguous prefix, one letter included (`rm --f` is `rm --force`), unless the
			// program has an option of exactly that name.
			const hit = used.long.find(({name: given}) => given === name || (given.length > 0 && name.startsWith(given) && !exact.has(given)))
				// Go's flag package and getopt_long_only take a long flag after one dash (`-force`).
				?? used.singleDash.find(({name: given}) => name.length > 1 && given === name);
			if (hit !== undefined) {
				return `${JSON.stringify(hit.argument)} (forbidden: ${flag})`;
			}
		} else if (/^-[^-]+$/.test(flag)) {
			const letters = [...flag.slice(1)];
			if (letters.every(letter => used.letters.has(letter))) {
				return `${letters.map(letter => `-${letter}`).join(' ')} (forbidden: ${flag})`;
			}
		} else if (args.includes(flag)) {
			return `${JSON.stringify(flag)} (forbidden)`;
		}
	}

	return undefined;
}
