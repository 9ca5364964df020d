/**
 * Which of a run's events the operator is waiting for: its first output and its first host's
 * result. The console's frame clock (frame-clock.tsx) hands these over at once instead of on its
 * next tick; every other event waits for the tick. Counted afresh from each `run-started` (a rerun
 * on the same screen is a new run).
 */
import type {RunEvent} from '../../../run/events.js';

export function firstNews(): (event: RunEvent) => boolean {
	let outputSeen = false;
	let resultSeen = false;
	return event => {
		switch (event.type) {
			case 'run-started': {
				outputSeen = false;
				resultSeen = false;
				return false;
			}

			case 'agent-output': {
				const first = !outputSeen;
				outputSeen = true;
				return first;
			}

			case 'agent-finished': {
				const first = !resultSeen;
				resultSeen = true;
				return first;
			}

			default: {
				return false;
			}
		}
	};
}
