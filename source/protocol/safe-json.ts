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
 * It recurses at most `maxDepth` deep, and allocates no more than Object.keys' array per object.
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

	const keys = Object.keys(value);
	for (const key of keys) {
		if (forbiddenKeys.has(key)) {
			return `forbidden key "${key}"`;
		}
	}

	for (let index = keys.length - 1; index >= 0; index--) {
		const problem = inspect((value as Record<string, unknown>)[keys[index]!], depth + 1, maxDepth);
		if (problem !== undefined) {
			return problem;
		}
	}

	return undefined;
}
