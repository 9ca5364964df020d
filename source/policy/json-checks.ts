/** Checks of parsed JSON values that the policy files and the approval rules share. Pure. */

export function isObject(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function stringList(value: unknown): string[] | undefined {
	return Array.isArray(value) && value.every(item => typeof item === 'string') ? value : undefined;
}

/** `unknown key "x" in the rule (it takes ...)` for the first key not in `known`, else undefined. */
export function unknownKey(value: Record<string, unknown>, known: readonly string[], where: string): string | undefined {
	const extra = Object.keys(value).find(key => !known.includes(key));
	return extra === undefined ? undefined : `unknown key ${JSON.stringify(extra)} in ${where} (it takes ${known.map(key => JSON.stringify(key)).join(', ')})`;
}
