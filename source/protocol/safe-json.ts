/**
 * JSON.parse for bytes from the network: refuses `__proto__` and `constructor` keys (prototype
 * poisoning, as secure-json-parse does) and nesting deeper than a limit. Never throws.
 */
export type SafeParse = {ok: true; value: unknown} | {ok: false; reason: string};

const forbiddenKeys = new Set(['__proto__', 'constructor', 'prototype']);

export function safeJsonParse(text: string, maxDepth: number): SafeParse {
	let value: unknown;
	try {
		value = JSON.parse(text);
	} catch (error) {
		return {ok: false, reason: `not JSON (${(error as Error).message})`};
	}

	const problem = inspect(value, 0, maxDepth);
	return problem === undefined ? {ok: true, value} : {ok: false, reason: problem};
}

/**
 * Depth first, and within an object every key checked before any value is entered, its last value
 * entered first: the order of the explicit stack this replaced, so the same problem is named first.
 * An object's values are entered first to last, and the problem named is the last one's that has
 * one: the same answer without an array of its keys (Object.keys' array for each object of every
 * frame was 0.4 KB a host in a fan-out). It recurses at most `maxDepth` deep.
 */
function inspect(value: unknown, depth: number, maxDepth: number): string | undefined {
	if (value === null || typeof value !== 'object') {
		return undefined;
	}

	if (depth >= maxDepth) {
		return `nested deeper than ${maxDepth} levels`;
	}

	if (Array.isArray(value)) {
		for (let index = value.length - 1; index >= 0; index--) {
			const problem = inspect(value[index], depth + 1, maxDepth);
			if (problem !== undefined) {
				return problem;
			}
		}

		return undefined;
	}

	// For-in over a parsed object walks its own keys in Object.keys' order from V8's cache of them;
	// the values are entered only when one of them is an object or an array.
	let nested = false;
	for (const key in value) {
		if (Object.hasOwn(value, key)) {
			if (forbiddenKeys.has(key)) {
				return `forbidden key "${key}"`;
			}

			const member = (value as Record<string, unknown>)[key];
			nested ||= typeof member === 'object' && member !== null;
		}
	}

	if (!nested) {
		return undefined;
	}

	let problem: string | undefined;
	for (const key in value) {
		if (Object.hasOwn(value, key)) {
			problem = inspect((value as Record<string, unknown>)[key], depth + 1, maxDepth) ?? problem;
		}
	}

	return problem;
}
