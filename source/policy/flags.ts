/**
 * Does an argument list use a forbidden flag? Written against how programs really parse flags,
 * because an attacker will try the neighbours of `--force`: `--force=yes`, the abbreviation
 * `--forc` (getopt_long accepts unambiguous prefixes), and for `-rf` the cluster `-fr`, `-rvf` or
 * the separate `-r -f`. Pure.
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
				if (!argument.startsWith('--') || argument === '--') {
					return false;
				}

				const given = argument.slice(2).split('=')[0]!;
				// An exact use, or an abbreviation getopt_long would expand to it (at least 2 letters).
				return given === name || (given.length >= 2 && name.startsWith(given));
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
