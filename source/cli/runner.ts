/**
 * The one runner of both executables: reads the command line against the command table
 * (parse-command-line.ts), prints the overview, a command's help or the version and does nothing
 * else, or builds the ports and runs the command. Errors become one sentence and an exit status
 * in runMain (main.ts).
 */
import type {CommandIo} from '../io/command-io.js';
import type {CommandTable, GlobalValues} from './command.js';
import {commandHelp, overviewHelp, type Program} from './help.js';
import {parseCommandLine} from './parse-command-line.js';
import {packageVersion} from './version.js';

export type Executable<Ports> = {
	program: Program;
	table: CommandTable<Ports>;
	/** What a bare invocation runs (the console, when both ends are a terminal). */
	defaultCommand?: string;
	/** The real ports, built once the command line is read (the home comes from --home). */
	ports: (globals: GlobalValues) => Ports;
	/** Throws NOT_INITIALISED, naming the command that creates one, when the ports' home is not initialised. */
	requireHome: (ports: Ports) => void;
};

export async function runExecutable<Ports>(executable: Executable<Ports>, argv: readonly string[], io: CommandIo): Promise<number> {
	const {program, table} = executable;
	const line = parseCommandLine(argv, table, {program: program.name, ...(executable.defaultCommand ? {defaultCommand: executable.defaultCommand} : {})});
	switch (line.kind) {
		case 'overview': {
			io.stdout(overviewHelp(program, table));
			return line.explicit ? 0 : 2;
		}

		case 'help': {
			io.stdout(commandHelp(program, table[line.command]!));
			return 0;
		}

		case 'version': {
			io.stdout(`${packageVersion()}\n`);
			return 0;
		}

		case 'run': {
			const command = table[line.command]!;
			const flags = line.flags as GlobalValues;
			const ports = executable.ports(flags);
			// Before the command reads anything: a home that does not exist is never "0 records, ok".
			if (command.needsHome !== false) {
				executable.requireHome(ports);
			}

			return command.run({flags, args: line.args, rest: line.rest}, io, ports);
		}
	}
}
