/**
 * xi-exec: wiring only. The command table, the real ports, and the shared runner; source/cli.ts
 * loads it once the compile cache is on and the early dial (early-dial.ts) has started.
 */
import type {EarlyConnection} from '../dispatch/agent-connection.js';
import {controllerPaths, requireInitialised, resolveControllerHome} from '../home.js';
import {processIo} from '../io/command-io.js';
import {controllerCommands, controllerProgram} from './commands/index.js';
import {runMain} from './main.js';
import {runExecutable} from './runner.js';

const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY);
// Questions are written to stderr and answered on stdin: stdout may be a file (`run … --json > out.json`).
const questions = Boolean(process.stdin.isTTY && process.stderr.isTTY);

// Not a top-level await: the release bundles the program to CommonJS (a single executable's main), which has none.
export function main(early: EarlyConnection | undefined): void {
	void runMain('xi-exec', async () => runExecutable({
		program: controllerProgram,
		table: controllerCommands,
		...(interactive ? {defaultCommand: 'console'} : {}),
		ports: globals => {
			if (globals.noColor) {
				// Read by the console's theme when it is first imported, which is after this.
				process.env['NO_COLOR'] = '1';
			}

			return {paths: controllerPaths(resolveControllerHome(globals.home, process.env)), env: process.env, stdin: process.stdin, interactive, questions, ...(process.stderr.isTTY ? {stderrColumns: () => process.stderr.columns} : {}), ...(early ? {early} : {})};
		},
		requireHome: ports => requireInitialised(ports.paths),
	}, process.argv.slice(2), processIo())).finally(() => {
		// A command that did not take it (refused before running, or not a run after all).
		early?.close();
	});
}
