/**
 * The fleet table's column widths for a terminal width. Names and addresses take what the
 * longest needs (up to a cap), narrowed further on a narrow terminal; the tags get the rest. Pure.
 *
 * `SEEN` (how long ago each agent answered: presence, what an incident asks first) is always
 * there. Below `fullExpiryFrom` columns the certificate's expiry is told as a time left (`89d`)
 * instead of a date. When the tags being filtered on still do not fit, `EXPIRES` and then
 * `SCRIPTS` give way (the agent's screen, Enter, has both): the filtered tags are never cut for
 * them.
 */
export type FleetColumns = {name: number; address: number; status: number; scripts: number; seen: number; expires: number; tags: number};

type Sized = {name: string; address: string; tags: string};

/** `unreachable`, the longest status; `SCRIPTS`; `SEEN` (`59s`, `12m`). */
const fixed = {status: 11, scripts: 7, seen: 4};
/** From this width on, `EXPIRES` is a `YYYY-MM-DD` date; below it, `89d` (as wide as its header). */
export const fullExpiryFrom = 90;

/** `filtered`: how wide the tags being filtered on are (the start of each agent's tags cell), at most. */
export function fleetColumns(width: number, agents: readonly Sized[], filtered = 0): FleetColumns {
	const longest = (pick: (agent: Sized) => string, header: string) => Math.max(header.length, ...agents.map(agent => pick(agent).length));
	const wantedTags = longest(agent => agent.tags, 'TAGS');
	let name = Math.min(16, longest(agent => agent.name, 'NAME'));
	let address = Math.min(21, longest(agent => agent.address, 'ADDRESS'));
	let expires = width >= fullExpiryFrom ? 10 : 7;
	let {scripts} = fixed;
	// Each column shown is followed by one space; the tags come last.
	const rest = () => width - [name, address, fixed.status, scripts, fixed.seen, expires].reduce((sum, column) => sum + (column > 0 ? column + 1 : 0), 0);
	// Narrow the address, then the name, down to a floor, while the tags do not fit.
	address -= clampShrink(address, Math.min(address, 15), wantedTags - rest());
	name -= clampShrink(name, Math.min(name, 10), wantedTags - rest());
	// The tags filtered on come first in the cell: what is cut is never one of them, while a column can give way.
	if (rest() < filtered) {
		expires = 0;
	}

	if (rest() < filtered) {
		scripts = 0;
	}

	return {name, address, status: fixed.status, scripts, seen: fixed.seen, expires, tags: Math.max(8, rest())};
}

function clampShrink(size: number, floor: number, wanted: number): number {
	return Math.max(0, Math.min(size - floor, wanted));
}
