/**
 * The default guard against argument injection: a script whose entry has an argument schema gets
 * an argument that begins with `-` only in a position the schema declares as taking options —
 * `"option": true` on that position (one of `prefixItems`, or `items` for every position after
 * them) or on the whole schema, or an `enum`/`const` there that lists the value itself. A file
 * name, a host, a free-text position never reaches the script as `-rf` or `--output=/etc/x`,
 * whatever program the script hands it to. Entries without a schema are not guarded (they declare
 * nothing; the policy's forbidden flags are the layer there). Pure.
 */
export function undeclaredOption(args: readonly string[], schema: unknown): {index: number; value: string} | undefined {
	if (!isObject(schema) || schema['option'] === true) {
		return undefined;
	}

	const prefix = Array.isArray(schema['prefixItems']) ? schema['prefixItems'] as unknown[] : [];
	for (const [index, value] of args.entries()) {
		if (!value.startsWith('-') || value === '-') {
			continue;
		}

		const position = index < prefix.length ? prefix[index] : schema['items'];
		if (!declaresOption(position, value)) {
			return {index, value};
		}
	}

	return undefined;
}

function declaresOption(position: unknown, value: string): boolean {
	if (!isObject(position)) {
		return false;
	}

	return position['option'] === true
		|| (Array.isArray(position['enum']) && position['enum'].includes(value))
		|| position['const'] === value;
}

function isObject(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}
