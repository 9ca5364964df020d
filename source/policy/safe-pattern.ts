/**
 * Regular expressions from configuration or from agents, compiled with a guard against
 * catastrophic backtracking: a size limit, no backreferences or lookaround, no nested quantifier
 * (a quantified group that itself contains a quantifier, `?` included: the shape of `(a+)+` and
 * `(a?a?)+`), and no repeated alternation (`(a|aa)+`, `(a|a)*`: two ways to match the same text,
 * tried again at every repetition). Every pattern is anchored to the whole argument. Pure.
 */
export const maxPatternLength = 256;

export function compileGuardedPattern(source: string): {ok: true; pattern: RegExp} | {ok: false; reason: string} {
	if (source.length > maxPatternLength) {
		return {ok: false, reason: `the pattern is longer than ${maxPatternLength} characters`};
	}

	if (/\\[1-9]|\\k<|\(\?[=!<]/.test(source)) {
		return {ok: false, reason: 'backreferences and lookaround are not allowed'};
	}

	try {
		// Alone first: wrapped, an unbalanced `a)|(b` would compile and escape the anchors.
		new RegExp(source, 'u');
	} catch (error) {
		return {ok: false, reason: `not a regular expression: ${(error as Error).message}`};
	}

	const risk = backtrackingRisk(source);
	if (risk) {
		return {ok: false, reason: risk};
	}

	// `^` and `$` in the source are kept (anchors may repeat); stripping a final `$` broke `\$`.
	return {ok: true, pattern: new RegExp(`^(?:${source})$`, 'u')};
}

function backtrackingRisk(source: string): string | undefined {
	const stack: Array<{quantifier: boolean; alternation: boolean}> = [];
	let escaped = false;
	let inClass = false;
	let openedAt = -1;
	for (let index = 0; index < source.length; index++) {
		const character = source[index]!;
		const top = stack.at(-1);
		if (escaped) {
			escaped = false;
			continue;
		}

		if (character === '\\') {
			escaped = true;
		} else if (inClass) {
			inClass = character !== ']';
		} else if (character === '[') {
			inClass = true;
		} else if (character === '(') {
			stack.push({quantifier: false, alternation: false});
			openedAt = index;
		} else if (character === ')') {
			const group = stack.pop() ?? {quantifier: false, alternation: false};
			const next = source[index + 1];
			const repeated = next === '*' || next === '+' || next === '{';
			const quantified = repeated || next === '?';
			if (group.quantifier && quantified) {
				return 'a quantified group contains a quantifier (like (a+)+), which can take exponential time';
			}

			if (group.alternation && repeated) {
				return 'a repeated group contains an alternation (like (a|aa)+), which can take exponential time';
			}

			const parent = stack.at(-1);
			if (parent) {
				parent.quantifier ||= group.quantifier || quantified;
				parent.alternation ||= group.alternation;
			}
		} else if (character === '|' && top) {
			top.alternation = true;
		} else if (top && (character === '*' || character === '+' || character === '{' || (character === '?' && index - 1 !== openedAt))) {
			// `?` right after `(` opens `(?:` or a named group; anywhere else it quantifies (or makes a quantifier lazy).
			top.quantifier = true;
		}
	}

	return undefined;
}
