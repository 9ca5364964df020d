/**
 * Which controller certificates this agent obeys: the fleet CA's public-key hash and the pinned
 * controller serials. A rotation announces the next serial over the old pinned channel; the agent
 * then accepts both until it first sees the new one, and from then on only the new one. An
 * unannounced serial is never accepted. Pure; the agent persists what these return.
 */
export type Pins = {caSha256: string; controllerSerials: string[]};

/** How many serials an agent holds at most: the one in use and those announced after it. */
const maxPinnedSerials = 3;

export function announceSerial(pins: Pins, serial: string): Pins {
	if (pins.controllerSerials.includes(serial)) {
		return pins;
	}

	return {...pins, controllerSerials: [...pins.controllerSerials, serial].slice(-maxPinnedSerials)};
}

/** Called after a connection presented `serial`: seeing the newest announced one retires the older ones. */
export function confirmSerial(pins: Pins, serial: string): Pins {
	const newest = pins.controllerSerials.at(-1);
	return serial === newest && pins.controllerSerials.length > 1 ? {...pins, controllerSerials: [serial]} : pins;
}
