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

	const problem = inspect(value, maxDepth);
	return problem === undefined ? {ok: true, value} : {ok: false, reason: problem};
}

function inspect(root: unknown, maxDepth: number): string | undefined {
	const stack: Array<{value: unknown; depth: number}> = [{value: root, depth: 0}];
	while (stack.length > 0) {
		const {value, depth} = stack.pop()!;
		if (value === null || typeof value !== 'object') {
			continue;
		}

		if (depth >= maxDepth) {
			return `nested deeper than ${maxDepth} levels`;
		}

		for (const key of Object.keys(value)) {
			if (forbiddenKeys.has(key)) {
				return `forbidden key "${key}"`;
			}

			stack.push({value: (value as Record<string, unknown>)[key], depth: depth + 1});
		}
	}

	return undefined;
}
