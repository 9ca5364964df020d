/**
 * Does an argument list use a forbidden flag? Written against how programs really parse flags,
 * because an attacker will try the neighbours of `--force`: `--force=yes`, the abbreviations
 * `--forc` and `--f` (getopt_long accepts unambiguous prefixes), `-force` (Go's flag package),
 * and for `-rf` the cluster `-fr`, `-rvf` or the separate `-r -f`. Pure.
 */
export function findForbiddenFlag(args: readonly string[], forbidden: readonly string[]): string | undefined {
	const shortLetters = new Set<string>();
	for (const argument of args) {
		if (/^-[A-Za-z0-9]+$/.test(argument)) {
			for (const letter of argument.slice(1)) {
				shortLetters.add(letter);
			}
		}
	}

	for (const flag of forbidden) {
		if (flag.startsWith('--')) {
			const name = flag.slice(2);
			const hit = args.find(argument => {
				if (/^-[^-]/.test(argument)) {
					// Go's flag package and getopt_long_only take a long flag after one dash (`-force`).
					return name.length > 1 && argument.slice(1).split('=')[0] === name;
				}

				if (!argument.startsWith('--') || argument === '--') {
					return false;
				}

				const given = argument.slice(2).split('=')[0]!;
				// An exact use, or an abbreviation getopt_long (and argparse) would expand to it: any
				// unambiguous prefix, one letter included (`rm --f` is `rm --force`).
				return given === name || (given.length > 0 && name.startsWith(given));
			});
			if (hit !== undefined) {
				return `${JSON.stringify(hit)} (forbidden: ${flag})`;
			}
		} else if (/^-[A-Za-z0-9]+$/.test(flag)) {
			const letters = [...flag.slice(1)];
			if (letters.every(letter => shortLetters.has(letter))) {
				return `${letters.map(letter => `-${letter}`).join(' ')} (forbidden: ${flag})`;
			}
		} else if (args.includes(flag)) {
			return `${JSON.stringify(flag)} (forbidden)`;
		}
	}

	return undefined;
}
