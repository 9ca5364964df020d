/**
 * One command of an executable, as a table entry: its flags (typed), its help, and `run`.
 * A command's module stays light (types and strings); `run` imports what it needs when it runs,
 * so the runner can read every command's flags and help without loading any of them.
 */
import type {CommandIo} from '../io/command-io.js';

export type FlagSpec = {
	type: 'string' | 'boolean' | 'number';
	/** The flag may be given more than once; its value is the list (empty when not given). */
	multiple?: true;
	/** What the value is, in the help: `--on SELECTOR`. */
	value?: string;
	description: string;
};

export type FlagSpecs = Record<string, FlagSpec>;

type ValueOf<S extends FlagSpec> = S['type'] extends 'boolean'
	? boolean
	: S['multiple'] extends true
		? Array<S['type'] extends 'number' ? number : string>
		: (S['type'] extends 'number' ? number : string) | undefined;

/** The parsed values of a command's flags, by their camelCase names. */
export type FlagValues<F extends FlagSpecs> = {[K in keyof F]: ValueOf<F[K]>};

/** Accepted by every command, before or after its name. */
export const globalFlags = {
	home: {type: 'string', value: 'DIR', description: 'the home directory'},
	json: {type: 'boolean', description: 'machine-readable output, where the command has it'},
	noColor: {type: 'boolean', description: 'no colours (NO_COLOR does the same)'},
	debug: {type: 'boolean', description: 'print stack traces'},
	help: {type: 'boolean', description: 'print this help and do nothing else'},
	version: {type: 'boolean', description: 'print the version and do nothing else'},
} as const satisfies FlagSpecs;

export type GlobalValues = FlagValues<typeof globalFlags>;

export type CommandInput<F extends FlagSpecs> = {
	flags: FlagValues<F> & GlobalValues;
	/** The words after the command's name (subcommands, names, the script), before any `--`. */
	args: string[];
	/** Everything after `--`, untouched. */
	rest: string[];
};

export type Command<F extends FlagSpecs, Ports> = {
	name: string;
	/** One line for the executable's overview. */
	summary: string;
	/** The forms of the command, without the executable's name: `run SCRIPT --on SELECTOR [-- ARGS...]`. */
	usage: string[];
	/** A paragraph or two on what it does, for its own help. */
	description?: string;
	flags: F;
	/** The command takes words after its name (no: any word is refused). */
	takesArgs?: boolean;
	examples?: string[];
	/** Exit statuses particular to this command; the shared ones are listed anyway. */
	exitCodes?: Array<[number, string]>;
	/** Not listed in the overview (still has its own help). */
	hidden?: boolean;
	/**
	 * false: the command runs on a home that is not initialised (init, demo, completion). Any
	 * other command is refused on one with NOT_INITIALISED before it runs (runner.ts).
	 */
	needsHome?: false;
	run(input: CommandInput<F>, io: CommandIo, ports: Ports): Promise<number>;
};

/** A table of commands by name, whatever their flags. */
export type CommandTable<Ports> = Record<string, Command<FlagSpecs, Ports>>;

/** Declares a command, keeping its flags' literal types for `run`. */
export function defineCommand<const F extends FlagSpecs, Ports>(command: Command<F, Ports>): Command<F, Ports> {
	return command;
}

/** `dryRun` → `dry-run`: how a flag is spelled on the command line. */
export function kebabCase(name: string): string {
	return name.replaceAll(/[A-Z]/g, letter => `-${letter.toLowerCase()}`);
}
