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

export async function startConsole(core: ConsoleCore, title?: string): Promise<number> {
	const {render, createElement, App} = await loadInk();
	let status = 0;
	const instance = render(createElement(App, {core, ...(title === undefined ? {} : {title}), onQuit(quitStatus: number) {
		status = quitStatus;
	}}), {
		exitOnCtrlC: false,
		// Spinners and live output redraw at most ten times a second (Ink's default is 30). Ink 6.8's
		// incrementalRendering left stale lines in tmux when a frame changed height: not used.
		maxFps: 10,
	});
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
