/**
 * Agent-name patterns with bracket ranges: `web[01-03,7]` is web01 web02 web03 web07, and
 * several groups multiply. Every character and the count are checked before anything is
 * expanded, so a pattern cannot make more names than `limit`. Pure.
 */

/** What is wrong, and where (0-based) in the selector value. */
export type SelectorProblem = {at: number; message: string};

/** `web[01-03,7]` → web01 web02 web03 web07; checks every character and counts before expanding. */
export function expandPattern(text: string, at: number, limit: number): {names: string[]} | SelectorProblem {
	const parts: string[][] = [];
	let count = 1;
	for (let index = 0; index < text.length;) {
		const char = text[index]!;
		if (char === '[') {
			const close = text.indexOf(']', index);
			const ranges = expandRanges(text.slice(index + 1, close), at + index + 1, limit);
			if ('message' in ranges) {
				return ranges;
			}

			count *= ranges.length;
			if (count > limit) {
				return {at: at + index, message: `this range makes more than ${limit} names`};
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

function expandRanges(text: string, at: number, limit: number): string[] | SelectorProblem {
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

		if (to - from >= limit) {
			return {at: position, message: `the range ${range} makes more than ${limit} names`};
		}

		for (let number = from; number <= to; number++) {
			out.push(String(number).padStart(width, '0'));
		}

		position += range.length + 1;
	}

	return out;
}
