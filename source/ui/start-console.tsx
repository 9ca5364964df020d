/**
 * Opens the console on a terminal and resolves with its exit status once the operator leaves it.
 * Loaded lazily: `run` never imports Ink.
 *
 * The console owns its terminal until it returns: SIGINT, SIGTERM and SIGHUP (a `kill`, a closed
 * terminal, `tmux kill-session`) leave it as `q` does — Ink unmounted, so the terminal is back in
 * the mode it was found in — with 130, 143 or 129 as the CLI's status. Ctrl-C typed as a key is
 * SIGINT's 130 too. A closed terminal makes every write fail (EIO): those errors are expected.
 */
import {render} from 'ink';
import {App} from './app.js';
import type {ConsoleCore} from './core.js';
import {signalStatus, type ConsoleSignal} from '../io/signal-status.js';


export async function startConsole(core: ConsoleCore, title?: string): Promise<number> {
	let status = 0;
	const instance = render(<App core={core} title={title} onQuit={quitStatus => {
		status = quitStatus;
	}}/>, {
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
