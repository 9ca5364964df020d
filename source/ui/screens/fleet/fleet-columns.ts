/**
 * The fleet table's column widths for a terminal width. Names and addresses take what the
 * longest needs (up to a cap), narrowed further on a narrow terminal; the tags get the rest. Pure.
 */
export type FleetColumns = {name: number; address: number; status: number; scripts: number; seen: number; expires: number; tags: number};

type Sized = {name: string; address: string; tags: string};

/** `unreachable`, the longest status; `SCRIPTS`; a `YYYY-MM-DD` date. */
const fixed = {status: 11, scripts: 7, expires: 10};
/** `SEEN` (`59s`, `12m`), from this width on; below it the agent's screen says when it was seen. */
export const seenFrom = 90;

export function fleetColumns(width: number, agents: readonly Sized[]): FleetColumns {
	const longest = (pick: (agent: Sized) => string, header: string) => Math.max(header.length, ...agents.map(agent => pick(agent).length));
	const wantedTags = longest(agent => agent.tags, 'TAGS');
	let name = Math.min(16, longest(agent => agent.name, 'NAME'));
	let address = Math.min(21, longest(agent => agent.address, 'ADDRESS'));
	const seen = width >= seenFrom ? 4 : 0;
	const separators = seen > 0 ? 6 : 5;
	const rest = () => width - name - address - fixed.status - fixed.scripts - seen - fixed.expires - separators;
	// Narrow the address, then the name, down to a floor, while the tags do not fit.
	address -= clampShrink(address, Math.min(address, 15), wantedTags - rest());
	name -= clampShrink(name, Math.min(name, 10), wantedTags - rest());
	return {name, address, ...fixed, seen, tags: Math.max(8, rest())};
}

function clampShrink(size: number, floor: number, wanted: number): number {
	return Math.max(0, Math.min(size - floor, wanted));
}
