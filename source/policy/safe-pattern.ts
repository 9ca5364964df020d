/**
 * Regular expressions from configuration or from agents, compiled with a guard against
 * catastrophic backtracking in V8's backtracking engine. Every pattern is anchored to the whole
 * argument (`^(?:…)$`), and it is refused when it has, in this order:
 *
 * 1. more than `maxPatternLength` characters;
 * 2. a backreference or lookaround;
 * 3. a repeated group that itself holds a quantifier, `?` included (`(a+)+`, `(a?a?)+`): exponential;
 * 4. a repeated group that holds an alternation (`(a|aa)+`, `(a|a)*`): exponential;
 * 5. two unbounded repeats with nothing between them that forces where the first one ends
 *    (`a*a*`, `.*x.*`, `\w+\s?\w+`): polynomial. Read as a sequence, a plain character that no
 *    repeat or option before it can match (the `@` and `.` of `[a-z]+@[a-z]+\.[a-z]+`) fixes where
 *    they end, so what comes after it starts a new stretch; each stretch may hold one unbounded
 *    repeat (a bounded one as wide as `{0,256}` counts as unbounded);
 * 6. more than `maxChoices` ways to match one stretch from its options and bounded repeats
 *    (`.{0,9}.{0,9}.{0,9}x`): bounded, but a constant that large is an attack too.
 *
 * A group that matches at most once is read as each of its ways in turn (rules 5 and 6 check each
 * expansion). Conservative: a repeated group counts as able to match any character.
 * What is accepted matches in time linear in the argument's length; the test proves that of
 * every accepted pattern of a generated corpus with an ReDoS checker we did not write. Pure.
 */
export const maxPatternLength = 256;

/** How many ways one stretch may be matched (options, alternatives, bounded repeats multiplied). */
export const maxChoices = 256;

const reasons = {
	nested: 'a repeated group contains a quantifier (like (a+)+), which can take exponential time',
	alternation: 'a repeated group contains an alternation (like (a|aa)+), which can take exponential time',
	polynomial: 'two repeats can take the same characters one after the other (like a*a* or \\w+\\s?\\w+), which can take polynomial time: put a character the first repeat cannot match between them',
	choices: `more than ${maxChoices} ways to match one stretch of the pattern (options and bounded repeats like .{0,9}.{0,9}.{0,9} multiply), which is too slow on long arguments`,
};

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

	const risk = backtrackingRisk(parsePattern(source));
	if (risk) {
		return {ok: false, reason: risk};
	}

	// `^` and `$` in the source are kept (anchors may repeat); stripping a final `$` broke `\$`.
	return {ok: true, pattern: new RegExp(`^(?:${source})$`, 'u')};
}

/** One atom of the pattern with its quantifier: `max` is Infinity for `*`, `+` and `{n,}`. */
type Term = {
	source: string;
	kind: 'character' | 'set' | 'group' | 'assertion';
	/** The character a plain or escaped-punctuation atom stands for. */
	literal?: string;
	alternatives?: Term[][];
	quantifier?: {min: number; max: number};
};

/** Reads a pattern that already compiles with the `u` flag into its alternatives of terms. */
function parsePattern(source: string): Term[][] {
	let index = 0;
	const alternatives = (): Term[][] => {
		const result: Term[][] = [[]];
		while (index < source.length && source[index] !== ')') {
			if (source[index] === '|') {
				index++;
				result.push([]);
				continue;
			}

			const term = atom();
			term.quantifier = quantifier();
			result.at(-1)!.push(term);
		}

		return result;
	};

	const atom = (): Term => {
		const start = index;
		const character = source[index]!;
		if (character === '(') {
			// `(`, `(?:`, `(?<name>`, and (newer engines) modifiers such as `(?i:`.
			index = source.startsWith('(?<', start) ? source.indexOf('>', start) + 1 : (source.startsWith('(?', start) ? source.indexOf(':', start) + 1 : start + 1);

			const inner = alternatives();
			index++;
			return {source: source.slice(start, index), kind: 'group', alternatives: inner};
		}

		if (character === '[') {
			index++;
			while (source[index] !== ']') {
				index += source[index] === '\\' ? 2 : 1;
			}

			index++;
			return {source: source.slice(start, index), kind: 'set'};
		}

		if (character === '\\') {
			const escaped = source[index + 1]!;
			index += 2;
			if (escaped === 'b' || escaped === 'B') {
				return {source: source.slice(start, index), kind: 'assertion'};
			}

			if ('pPu'.includes(escaped) && source[index] === '{') {
				index = source.indexOf('}', index) + 1;
			} else if (escaped === 'u') {
				index += 4;
			} else if (escaped === 'x') {
				index += 2;
			} else if (escaped === 'c') {
				index += 1;
			}

			const punctuation = /[\^$\\.*+?()[\]{}|/-]/.test(escaped) && index === start + 2;
			return {source: source.slice(start, index), kind: punctuation ? 'character' : 'set', ...(punctuation ? {literal: escaped} : {})};
		}

		if (character === '^' || character === '$') {
			index++;
			return {source: character, kind: 'assertion'};
		}

		const codePoint = String.fromCodePoint(source.codePointAt(index)!);
		index += codePoint.length;
		return character === '.' ? {source: '.', kind: 'set'} : {source: codePoint, kind: 'character', literal: codePoint};
	};

	const quantifier = (): Term['quantifier'] => {
		const next = source[index];
		let bounds: Term['quantifier'];
		if (next === '*' || next === '+' || next === '?') {
			index++;
			bounds = {min: next === '+' ? 1 : 0, max: next === '?' ? 1 : Number.POSITIVE_INFINITY};
		} else if (next === '{') {
			const [, min = '0', comma, max] = /^\{(\d+)(,?)(\d*)\}/.exec(source.slice(index))!;
			index = source.indexOf('}', index) + 1;
			bounds = {min: Number(min), max: comma ? (max ? Number(max) : Number.POSITIVE_INFINITY) : Number(min)};
		}

		if (bounds && source[index] === '?') {
			index++; // Lazy: the same choices, tried in the other order.
		}

		return bounds;
	};

	return alternatives();
}

function backtrackingRisk(pattern: Term[][]): string | undefined {
	for (const sequence of pattern) {
		const risk = sequence.map(term => groupRisk(term)).find(Boolean) ?? expansions(sequence).map(expanded => stretchRisk(expanded)).find(Boolean);
		if (risk) {
			return risk;
		}
	}

	return undefined;
}

/**
 * The sequence with each group that is not repeated (no quantifier, or at most once) replaced by
 * each of its alternatives, and an optional one also by nothing: `[a-z]+(\.[a-z]+)?` is read as
 * `[a-z]+\.[a-z]+` and `[a-z]+`. A backtracking engine tries a group that matches at most once
 * by trying each way in turn, so its work is at most the sum of the expansions' work, and each is
 * checked alone. More than `maxChoices` expansions: the sequence as written (conservative).
 */
function expansions(sequence: readonly Term[]): Term[][] {
	let result: Term[][] = [[]];
	for (const term of sequence) {
		const ways = term.kind === 'group' && (term.quantifier?.max ?? 1) <= 1
			? [...(term.quantifier?.min === 0 ? [[]] : []), ...term.alternatives!.flatMap(alternative => expansions(alternative))]
			: [[term]];
		if (result.length * ways.length > maxChoices) {
			return [[...sequence]];
		}

		result = result.flatMap(prefix => ways.map(way => [...prefix, ...way]));
	}

	return result;
}

/** Rules 3 and 4, innermost group first. */
function groupRisk(term: Term): string | undefined {
	if (term.kind !== 'group') {
		return undefined;
	}

	for (const sequence of term.alternatives!) {
		const inner = sequence.map(child => groupRisk(child)).find(Boolean);
		if (inner) {
			return inner;
		}
	}

	if (term.quantifier && term.quantifier.max > 1 && holds(term, child => child.quantifier !== undefined)) {
		return reasons.nested;
	}

	if (term.quantifier && term.quantifier.max > 1 && holds(term, child => child.kind === 'group' && child.alternatives!.length > 1, true)) {
		return reasons.alternation;
	}

	return undefined;
}

/** Whether a group holds (any depth) a term with the property; `self` counts the group itself. */
function holds(group: Term, property: (term: Term) => boolean, self = false): boolean {
	return (self && property(group)) || group.alternatives!.some(sequence => sequence.some(child => property(child) || (child.kind === 'group' && holds(child, property))));
}

/** Rules 5 and 6 over one sequence, cut into stretches by the characters that fix where repeats end. */
function stretchRisk(sequence: readonly Term[]): string | undefined {
	let choosing: Term[] = [];
	let unbounded = 0;
	let choices = 1;
	for (const term of sequence) {
		// A required character no chooser before it can take fixes where they all end.
		if (term.literal !== undefined && (term.quantifier?.min ?? 1) >= 1 && !choosing.some(chooser => canMatch(chooser, term.literal!))) {
			choosing = [];
			unbounded = 0;
			choices = 1;
		}

		const measure = measureTerm(term);
		if (measure.unbounded > 0 || measure.choices > 1) {
			choosing.push(term);
		}

		unbounded += measure.unbounded;
		choices = Math.min(choices * measure.choices, Number.MAX_SAFE_INTEGER);
		if (unbounded > 1) {
			return reasons.polynomial;
		}

		if (choices > maxChoices) {
			return reasons.choices;
		}
	}

	return undefined;
}

/** How many unbounded repeats a term holds, and how many ways its bounded choices give. */
function measureTerm(term: Term): {unbounded: number; choices: number} {
	let unbounded = 0;
	let choices = 1;
	const span = term.quantifier ? term.quantifier.max - term.quantifier.min + 1 : 1;
	if (span > maxChoices) {
		unbounded = 1;
	} else {
		choices = span;
	}

	if (term.kind === 'group') {
		let inner = 0;
		for (const sequence of term.alternatives!) {
			let ways = 1;
			for (const child of sequence) {
				const measure = measureTerm(child);
				unbounded += measure.unbounded;
				ways = Math.min(ways * measure.choices, Number.MAX_SAFE_INTEGER);
			}

			inner = Math.min(inner + ways, Number.MAX_SAFE_INTEGER);
		}

		choices = Math.min(choices * inner, Number.MAX_SAFE_INTEGER);
	}

	return {unbounded, choices};
}

/** Whether a repeat or option could take this character; a group is assumed able to. */
function canMatch(term: Term, character: string): boolean {
	return term.kind === 'group' || new RegExp(`^(?:${term.source})$`, 'u').test(character);
}
