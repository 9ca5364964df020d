/** Hosts in the order an operator reads their names: `web2` before `web10` (numbers by value). */
export function byName(a: string, b: string): number {
	return a.localeCompare(b, 'en', {numeric: true});
}
