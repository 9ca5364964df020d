/** `*` matches any run of characters (none too); every other character stands for itself. Pure. */
export function globMatches(pattern: string, text: string): boolean {
	if (!pattern.includes('*')) {
		return pattern === text;
	}

	const escaped = pattern.split('*').map(part => part.replaceAll(/[.+?^${}()|[\]\\/-]/g, '\\$&'));
	return new RegExp(`^${escaped.join('.*')}$`, 's').test(text);
}
