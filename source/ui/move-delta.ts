/** How a list's keys move its cursor, on every screen with a list. Pure. */
import type {Key} from 'ink';

/** ↑↓ j k one line; PgUp PgDn a page (`page` lines: what the list shows at once); Home End to either end. */
export function moveDelta(input: string, key: Key, page = 10): number | undefined {
	if (key.upArrow || input === 'k') {
		return -1;
	}

	if (key.downArrow || input === 'j') {
		return 1;
	}

	if (key.pageUp) {
		return -Math.max(1, page);
	}

	if (key.pageDown) {
		return Math.max(1, page);
	}

	if (key.home) {
		return -Infinity;
	}

	return key.end ? Infinity : undefined;
}
