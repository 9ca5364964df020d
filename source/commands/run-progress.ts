/**
 * The live progress line of `xi-exec run` on a terminal's stderr (output/progress-line.ts says what
 * it shows). It is redrawn in place (carriage return, erase line) at most every 100 ms on events
 * and every 500 ms for the clock, and erased before anything else is written, so output lines on
 * the same terminal never mix with it. Gone at the end of the run.
 */
import type {RunEvent} from '../run/events.js';
import {createRunFold} from '../run/run-state.js';
import {progressLine} from '../output/progress-line.js';

const erase = '\r\u001B[2K';

export type ProgressTicker = {
	onEvent: (event: RunEvent) => void;
	/** Erases the line, calls `write`, and draws the line again soon. */
	around: (write: () => void) => void;
	/** Erases the line and draws nothing until `resume` (while a question is asked on the terminal). */
	suspend: () => void;
	resume: () => void;
	stop: () => void;
};

export function startProgress(options: {write: (text: string) => void; window: number; columns: () => number | undefined; now?: () => number}): ProgressTicker {
	const now = options.now ?? Date.now;
	const started = now();
	// Only the latest state is read (at each draw): folded in place, O(1) an event (run-state.ts).
	const run = createRunFold();
	let shown = false;
	let lastDrawn = 0;
	let pending: NodeJS.Timeout | undefined;
	let suspended = false;
	const draw = () => {
		pending = undefined;
		if (run.state.order.length === 0 || suspended) {
			return;
		}

		lastDrawn = now();
		const columns = options.columns();
		options.write(`${erase}${progressLine(run.state, {elapsedMs: lastDrawn - started, window: options.window, ...(columns === undefined ? {} : {columns})})}`);
		shown = true;
	};

	const soon = () => {
		pending ??= setTimeout(draw, Math.max(0, 100 - (now() - lastDrawn)));
		pending.unref();
	};

	const clock = setInterval(draw, 500);
	clock.unref();
	const clear = () => {
		if (shown) {
			options.write(erase);
			shown = false;
		}
	};

	return {
		onEvent(event) {
			run.add(event);
			soon();
		},
		around(write) {
			clear();
			write();
			soon();
		},
		suspend() {
			suspended = true;
			clear();
		},
		resume() {
			suspended = false;
			soon();
		},
		stop() {
			clearInterval(clock);
			clearTimeout(pending);
			pending = undefined;
			clear();
		},
	};
}
