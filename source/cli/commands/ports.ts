/** What the controller's commands are given: its home's paths and the process's surroundings. */
import type {EarlyConnection} from '../../dispatch/agent-connection.js';
import type {ControllerPaths} from '../../home.js';

export type ControllerPorts = {
	paths: ControllerPaths;
	env: NodeJS.ProcessEnv;
	stdin: NodeJS.ReadStream;
	/** Both stdin and stdout are a terminal: the console can be shown (it draws on stdout). */
	interactive: boolean;
	/**
	 * Both stdin and stderr are a terminal: a command may ask (a canary, a confirm script), as the
	 * question is written to stderr (terminal-questions.ts); so `run … > out.json` still asks.
	 */
	questions: boolean;
	/** stderr's width, when stderr is a terminal (a live progress line goes there). */
	stderrColumns?: () => number | undefined;
	/** A one-shot run's connection, dialled while the program loaded (cli/early-dial.ts). */
	early?: EarlyConnection;
};
