/** What a command writes to and listens on: the terminal in the executables, a buffer in tests. */
import {hostname, userInfo} from 'node:os';
import {standardOutput} from './standard-output.js';

export type CommandIo = {
	stdout: (text: string) => void;
	stderr: (text: string) => void;
	/** Calls the handler each time the user presses Ctrl-C. */
	onInterrupt: (handler: () => void) => void;
};

/** The exit status after Ctrl-C (128 + SIGINT), as shells report it. */
export const exitInterrupted = 130;

/** The process's own terminal as a CommandIo (a reader going away is never an error: standard-output.ts). */
export function processIo(): CommandIo {
	const output = standardOutput();
	return {
		stdout: text => output.stdout.write(text),
		stderr: text => output.stderr.write(text),
		onInterrupt(handler) {
			process.on('SIGINT', handler);
		},
	};
}

/** Who is at this terminal, as the audit trail names a CLI caller: `user@host`. */
export function defaultCaller(): string {
	return `${userInfo().username}@${hostname()}`;
}
