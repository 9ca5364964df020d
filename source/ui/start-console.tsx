/**
 * Opens the console on a terminal and resolves with its exit status once the operator leaves it.
 * Loaded lazily: `run` never imports Ink.
 *
 * The console owns its terminal until it returns: SIGINT, SIGTERM and SIGHUP (a `kill`, a closed
 * terminal, `tmux kill-session`) leave it as `q` does — Ink unmounted, so the terminal is back in
 * the mode it was found in — with 130, 143 or 129 as the CLI's status. Ctrl-C typed as a key is
 * SIGINT's 130 too. A closed terminal makes every write fail (EIO): those errors are expected.
 */
import type {ConsoleCore} from './core.js';
import {signalStatus, type ConsoleSignal} from '../io/signal-status.js';
import {lineDiffStream} from './line-diff.js';

/**
 * React and Ink in their production builds: the development builds check every render (measured:
 * a 40-host run frame cost 11.9 ms of CPU against 6.4–7.3 ms, and the console shares its thread
 * with the run's TLS work). React reads NODE_ENV once, when first loaded, so they are loaded
 * here, after it is set (an operator's own NODE_ENV is kept).
 */
async function loadInk() {
	process.env['NODE_ENV'] ??= 'production';
	const [{render}, {createElement}, {App}] = await Promise.all([import('ink'), import('react'), import('./app.js')]);
	return {render, createElement, App};
}

/**
 * How Ink draws the console (bench/console.ts draws it the same way). What bounds the frames is
 * the console's clock (frame-clock.tsx: four a second while something moves, a run's events on
 * its ticks, its first output and first result at once), so Ink's own throttle is kept short: at
 * maxFps 10 a run's first result, coming a few ms after its first output, waited for the end of
 * Ink's 100 ms window opened by the first output's frame; at 60 a frame follows its change within
 * 17 ms. Frames go to the terminal as the lines that changed (line-diff.ts).
 */
export const renderOptions = {exitOnCtrlC: false, maxFps: 60} as const;

export async function startConsole(core: ConsoleCore, title?: string): Promise<number> {
	const {render, createElement, App} = await loadInk();
	let status = 0;
	const instance = render(createElement(App, {core, ...(title === undefined ? {} : {title}), onQuit(quitStatus: number) {
		status = quitStatus;
	}}), {...renderOptions, stdout: lineDiffStream(process.stdout)});
	const leave = (signal: ConsoleSignal) => () => {
		status = signalStatus[signal];
		instance.unmount();
	};

	const ignoreWriteErrors = () => undefined;
	process.stdout.on('error', ignoreWriteErrors);
	const handlers = (Object.keys(signalStatus) as ConsoleSignal[]).map(signal => [signal, leave(signal)] as const);
	for (const [signal, handler] of handlers) {
		process.on(signal, handler);
	}

	try {
		await instance.waitUntilExit();
	} finally {
		for (const [signal, handler] of handlers) {
			process.off(signal, handler);
		}
	}

	// The shell's prompt starts on a line of its own, not on the footer.
	if (status !== signalStatus.SIGHUP) {
		process.stdout.write('\n');
	}

	return status;
}
