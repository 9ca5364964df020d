/**
 * Frames as the lines that changed. Ink 6 writes every frame whole — erase the previous frame's
 * lines, then all of the new one — so a spinner's tick resent the whole screen (measured: 2.1 KB
 * a frame at 80×24, 10 KB at 200×50; the issue counted 308 KB in 7 s). Its `incrementalRendering`
 * option moves the cursor up one line too few when a frame ends in a newline, as every frame
 * shorter than the terminal does (ink 6.8 log-update.js: `cursorUp(previousVisible - 1)` from the
 * line below the frame), which is the stale lines it left in tmux. So the console keeps Ink's
 * whole frames and rewrites them here, between Ink and the terminal: the cursor up to the
 * frame's first line, unchanged lines stepped over, changed ones erased and written, what the
 * new frame no longer covers erased. The cursor ends where Ink left it, below the frame.
 *
 * Anything that is not a frame following the frame on screen (a first frame, a resize, a write
 * this does not know) goes to the terminal as Ink wrote it, and the next frame is written whole.
 * Pure: `translate` maps what Ink writes to what the terminal gets.
 */
const escape = '\u001B[';
/** ansi-escapes' eraseLines(n): erase a line and go up, n − 1 times; erase a line; to column 1. */
const eraseLinesPrefix = /^((?:\u001B\[2K\u001B\[1A)*)\u001B\[2K\u001B\[G/;
/** Modes that change no text: cursor shown or hidden, synchronized output begun or ended. */
const modeOnly = /^(?:\u001B\[\?\d+[hl])+$/;

export type LineDiff = {translate: (text: string) => string; reset: () => void};

export function createLineDiff(): LineDiff {
	// The lines of the frame on screen, the cursor on the line below them; undefined: not known.
	let screen: string[] | undefined = [];
	const frameLines = (text: string): string[] | undefined => (text.endsWith('\n') ? text.slice(0, -1).split('\n') : undefined);
	return {
		translate(text) {
			if (modeOnly.test(text)) {
				return text;
			}

			const erase = eraseLinesPrefix.exec(text);
			if (!erase) {
				// A first frame (nothing to erase) is known from here; anything else is not.
				screen = screen?.length === 0 ? frameLines(text) : undefined;
				return text;
			}

			const erased = (erase[1]!.length / 8) + 1;
			const next = frameLines(text.slice(erase[0].length));
			const previous = screen;
			screen = next;
			// Ink erases the frame's lines and the empty one the cursor is on.
			if (!previous || !next || erased !== previous.length + 1) {
				return text;
			}

			return changedLines(previous, next);
		},
		reset() {
			screen = undefined;
		},
	};
}

/** From the line below `previous`, what turns it into `next` and leaves the cursor below `next`. */
function changedLines(previous: readonly string[], next: readonly string[]): string {
	let out = previous.length > 0 ? `${escape}${previous.length}A\r` : '\r';
	let skipped = 0;
	for (const [index, line] of next.entries()) {
		if (index < previous.length && previous[index] === line) {
			skipped++;
			continue;
		}

		if (skipped > 0) {
			out += `${escape}${skipped}B`;
			skipped = 0;
		}

		// Erased first: a line as wide as the terminal leaves the cursor on its last column, where an
		// erase to the end would take that column's character.
		out += `${escape}K${line}\n`;
	}

	if (skipped > 0) {
		out += `${escape}${skipped}B`;
	}

	return next.length < previous.length ? `${out}${escape}J` : out;
}

/** `stdout` for Ink: every frame written through a LineDiff; a resize writes the next frame whole. */
export function lineDiffStream(stdout: NodeJS.WriteStream): NodeJS.WriteStream {
	const diff = createLineDiff();
	stdout.on('resize', diff.reset);
	return new Proxy(stdout, {
		get(target, key) {
			if (key === 'write') {
				return (chunk: string | Uint8Array, ...rest: unknown[]) => (target.write as (...parameters: unknown[]) => boolean)(typeof chunk === 'string' ? diff.translate(chunk) : chunk, ...rest);
			}

			const value: unknown = Reflect.get(target, key, target);
			return typeof value === 'function' ? (value as (...parameters: unknown[]) => unknown).bind(target) : value;
		},
	});
}
