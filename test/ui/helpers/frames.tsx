/**
 * Frame helpers for console tests: render at a terminal size, normalise a frame (no colours, one
 * spinner glyph, request ids as zeros, no trailing blanks), and wait for content by polling
 * `lastFrame()` rather than sleeping a fixed time.
 */
import './force-color.js';
import {setTimeout as delay} from 'node:timers/promises';
import {stripVTControlCharacters} from 'node:util';
import type {ReactElement} from 'react';
import {render} from 'ink-testing-library';
import {App} from '../../../source/ui/app.js';
import type {ConsoleCore} from '../../../source/ui/core.js';
import type {ConsoleExtension} from '../../../source/ui/extensions.js';

export type Rendered = ReturnType<typeof render>;

const spinnerGlyphs = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/g;
const uuid = /[\da-f]{8}-[\da-f]{4}-[\da-f]{4}-[\da-f]{4}-[\da-f]{12}/g;

export function normalise(frame: string | undefined): string {
	return stripVTControlCharacters(frame ?? '')
		.replace(spinnerGlyphs, '⠋')
		.replace(uuid, '00000000-0000-0000-0000-000000000000')
		// An agent's screen ("seen 4s ago"), before the column rule below would pad "seen 12s ago".
		.replace(/\bseen \d{1,2}s ago\b/g, 'seen 0s ago')
		// "Seen N s ago" in the fleet's SEEN column: the clock runs on while a test waits.
		.replace(/(?<= )\d{1,2}s(?= )/g, seen => '0s'.padEnd(seen.length))
		// And on an agent's screen ("seen 4 s ago", as `xi-exec agents` words it).
		.replace(/\bseen \d{1,2} s ago\b/g, 'seen 0 s ago')
		// A certificate's time left in a narrow fleet's EXPIRES column (`79d`, `72y`): the calendar runs on too.
		.replace(/(?<= )\d{1,3}[dy] {4,6}(?=\S)/g, left => '90d'.padEnd(left.length))
		// A run's elapsed and per-host times.
		.replace(/\b\d+\.\d s\b/g, '0.0 s')
		.split('\n')
		.map(line => line.trimEnd())
		.join('\n')
		.replace(/\n+$/, '');
}

/**
 * Renders at a terminal size. ink-testing-library's stdout is 100 columns with no rows; giving it
 * own `columns`/`rows` before the console subscribes to resizes makes it an 80×24 terminal.
 */
export function renderAt(tree: ReactElement, size: {columns: number; rows: number} = {columns: 80, rows: 24}): Rendered {
	const rendered = render(tree);
	Object.defineProperty(rendered.stdout, 'columns', {value: size.columns, configurable: true});
	Object.defineProperty(rendered.stdout, 'rows', {value: size.rows, configurable: true});
	rendered.stdout.emit('resize');
	return rendered;
}

export type Console = Rendered & {
	/** The tallest and widest of the frames drawn at the terminal's size. */
	largest: () => {lines: number; columns: number};
};

/** The whole console on a fake core, once it has taken the terminal's size. */
export async function renderApp(core: ConsoleCore, size = {columns: 80, rows: 24}, extensions?: readonly ConsoleExtension[]): Promise<Console> {
	const rendered = renderAt(<App core={core} title="xi-exec" {...(extensions ? {extensions} : {})}/>, size);
	// The title line spans the console's width: once it is as wide as the terminal, so is the layout.
	await waitForFrame(rendered, frame => [...frame.split('\n')[0]!].length === size.columns);
	const from = rendered.frames.length - 1;
	return {...rendered, largest: () => largestFrame(rendered, from)};
}

/** Polls the last frame until it passes `check` (or contains the text); fails with the frame seen. */
export async function waitForFrame(rendered: Rendered, check: string | ((frame: string) => boolean), limitMs = 15_000): Promise<string> {
	const passes = typeof check === 'string' ? (frame: string) => frame.includes(check) : check;
	const deadline = Date.now() + limitMs;
	for (;;) {
		// Yield first: keys written just before are handled, and the console's effects (its key
		// handlers for the new state) have run, before the frame is read and the next key sent.
		await delay(5);
		const frame = normalise(rendered.lastFrame());
		if (passes(frame)) {
			return frame;
		}

		if (Date.now() > deadline) {
			throw new Error(`no frame ${typeof check === 'string' ? `containing ${JSON.stringify(check)}` : 'passing the check'} came; the last one was:\n${frame}`);
		}
	}
}

/** Polls a condition (on the fake core, say) until it holds; fails after a generous limit. */
export async function until(check: () => boolean, limitMs = 15_000): Promise<void> {
	const deadline = Date.now() + limitMs;
	while (!check()) {
		if (Date.now() > deadline) {
			throw new Error(`the condition ${check.toString()} did not come to hold`);
		}

		await delay(5);
	}
}

/** Types keys one at a time, each after the frame shows the previous one was taken (`until`). */
export async function press(rendered: Rendered, key: string, until: string | ((frame: string) => boolean)): Promise<string> {
	rendered.stdin.write(key);
	return waitForFrame(rendered, until);
}

/** The text shown in inverse video in the last frame: the selected row, and the typing cursor. */
export function selected(rendered: Rendered): string[] {
	const raw = rendered.lastFrame() ?? '';
	return [...raw.matchAll(/\u001B\[7m(.*?)\u001B\[27m/g)].map(match => stripVTControlCharacters(match[1]!).trimEnd());
}

export const keys = {enter: '\r', escape: '\u001B', down: '\u001B[B', up: '\u001B[A', backspace: '\u007F', tab: '\t', home: '\u001B[H'};

/** Lines and widths of every frame written since `from`: [most lines, widest line]. */
export function largestFrame(rendered: Rendered, from = 0): {lines: number; columns: number} {
	let lines = 0;
	let columns = 0;
	for (const frame of rendered.frames.slice(from)) {
		const frameLines = stripVTControlCharacters(frame).split('\n');
		lines = Math.max(lines, frameLines.length);
		columns = Math.max(columns, ...frameLines.map(line => [...line].length));
	}

	return {lines, columns};
}
