/**
 * Regular expressions from configuration or from agents, compiled with a guard against
 * catastrophic backtracking: a size limit, no backreferences or lookaround, and no nested
 * quantifier (a quantified group that itself contains a quantifier, the shape of `(a+)+`). Every
 * pattern is anchored to the whole argument. Pure.
 */
export const maxPatternLength = 256;

export function compileGuardedPattern(source: string): {ok: true; pattern: RegExp} | {ok: false; reason: string} {
	if (source.length > maxPatternLength) {
		return {ok: false, reason: `the pattern is longer than ${maxPatternLength} characters`};
	}

	if (/\\[1-9]|\\k<|\(\?[=!<]/.test(source)) {
		return {ok: false, reason: 'backreferences and lookaround are not allowed'};
	}

	if (hasNestedQuantifier(source)) {
		return {ok: false, reason: 'a quantified group contains a quantifier (like (a+)+), which can take exponential time'};
	}

	try {
		return {ok: true, pattern: new RegExp(`^(?:${source.replace(/^\^/, '').replace(/\$$/, '')})$`, 'u')};
	} catch (error) {
		return {ok: false, reason: `not a regular expression: ${(error as Error).message}`};
	}
}

function hasNestedQuantifier(source: string): boolean {
	const stack: boolean[] = [];
	let escaped = false;
	let inClass = false;
	for (let index = 0; index < source.length; index++) {
		const character = source[index]!;
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
			stack.push(false);
		} else if (character === ')') {
			const containsQuantifier = stack.pop() ?? false;
			const next = source[index + 1];
			const quantified = next === '*' || next === '+' || next === '?' || next === '{';
			if (containsQuantifier && quantified) {
				return true;
			}

			if (stack.length > 0 && (containsQuantifier || quantified)) {
				stack[stack.length - 1] = true;
			}
		} else if ((character === '*' || character === '+' || character === '{') && stack.length > 0) {
			stack[stack.length - 1] = true;
		}
	}

	return false;
}
