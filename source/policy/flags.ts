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
 * under-). `longOptions`, the program's own long options whose names are prefixes of forbidden
 * ones, keeps exact different options from being read as abbreviations (`--checkpoint=1` is not
 * `--checkpoint-action` once `--checkpoint` is declared). With a declared syntax, `--` ends options
 * where it cannot be the value of the option before it (`-f -- -I` gives `-f` the value `--`; `-I` is an option).
 */
export const optionSyntaxes = ['getopt', 'getopt_long', 'tar', 'ps', 'none'] as const;
export type OptionSyntax = typeof optionSyntaxes[number];

export type FlagRules = {syntax?: OptionSyntax; longOptions?: readonly string[]};

type Used = {letters: Set<string>; long: Array<{argument: string; name: string}>; singleDash: Array<{argument: string; name: string}>};

/** The short letters and long names `args` may use, read the way `syntax` parses them. */
function optionsUsed(args: readonly string[], syntax: OptionSyntax | undefined): Used {
	const used: Used = {letters: new Set(), long: [], singleDash: []};
	let previous: string | undefined;
	for (const [index, argument] of args.entries()) {
		if (argument === '--' && syntax !== undefined && !mayTakeNextValue(previous)) {
			break;
		}

		if (argument.startsWith('--') && argument.length > 2) {
			used.long.push({argument, name: argument.slice(2).split('=')[0]!});
		} else if (argument.startsWith('-') && argument.length > 1 && argument !== '--') {
			for (const letter of argument.slice(1)) {
				used.letters.add(letter);
			}

			if (syntax === undefined) {
				used.singleDash.push({argument, name: argument.slice(1).split('=')[0]!});
			}
		} else if ((syntax === 'tar' && index === 0) || syntax === 'ps') {
			for (const letter of argument) {
				used.letters.add(letter);
			}
		}

		previous = argument;
	}

	return used;
}

/** Could the option `previous` take the next argument as its value (so a `--` there is a value, not the end)? */
function mayTakeNextValue(previous: string | undefined): boolean {
	if (previous === undefined || !previous.startsWith('-') || previous === '-' || previous === '--') {
		return false;
	}

	return !(previous.startsWith('--') && previous.includes('='));
}

export function findForbiddenFlag(args: readonly string[], forbidden: readonly string[], rules: FlagRules = {}): string | undefined {
	if (rules.syntax === 'none') {
		const flag = forbidden.find(item => args.includes(item));
		return flag === undefined ? undefined : `${JSON.stringify(flag)} (forbidden)`;
	}

	const used = optionsUsed(args, rules.syntax);
	const exact = new Set((rules.longOptions ?? []).map(name => name.replace(/^--/, '')));
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
