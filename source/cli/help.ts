/** The help of an executable and of each of its commands, written from the command table. */
import {globalFlags, kebabCase, type Command, type CommandTable, type FlagSpecs} from './command.js';

export type Program = {
	name: string;
	/** What the executable is, in a sentence or two, for the overview. */
	about: string;
	/** Sections of the overview after the commands (selectors, for instance). */
	notes?: string;
	/** Where --home defaults to, for the help. */
	home: string;
	/** The exit statuses every command shares. */
	exitCodes: Array<[number, string]>;
};

export function overviewHelp(program: Program, table: CommandTable<unknown>): string {
	const shown = Object.values(table).filter(command => !command.hidden);
	const width = Math.max(...shown.map(command => command.name.length));
	return [
		`${program.about}\n`,
		'Usage',
		`  $ ${program.name} COMMAND [OPTIONS]`,
		`  $ ${program.name} help COMMAND        what a command does, its options, examples and exit statuses\n`,
		'Commands',
		...shown.map(command => `  ${command.name.padEnd(width)}  ${command.summary}`),
		'',
		...(program.notes ? [program.notes.trimEnd(), ''] : []),
		'Global options (before or after the command)',
		...flagLines({...globalFlags, home: {...globalFlags.home, description: program.home}}),
		'',
		'Exit status',
		...program.exitCodes.map(([code, meaning]) => `  ${String(code).padStart(3)}  ${meaning}`),
		'',
	].join('\n');
}

export function commandHelp(program: Program, command: Command<FlagSpecs, unknown>): string {
	const exitCodes = [...(command.exitCodes ?? []), ...program.exitCodes.filter(([code]) => !command.exitCodes?.some(([own]) => own === code))]
		.sort(([a], [b]) => a - b);
	return [
		`${command.summary}\n`,
		'Usage',
		...command.usage.map(line => `  $ ${program.name} ${line}`),
		'',
		...(command.description ? [command.description.trim(), ''] : []),
		...(Object.keys(command.flags).length > 0 ? ['Options', ...flagLines(command.flags), ''] : []),
		'Global options',
		...flagLines({...globalFlags, home: {...globalFlags.home, description: program.home}}),
		'',
		...(command.examples?.length ? ['Examples', ...command.examples.map(line => `  $ ${program.name} ${line}`), ''] : []),
		'Exit status',
		...exitCodes.map(([code, meaning]) => `  ${String(code).padStart(3)}  ${meaning}`),
		'',
	].join('\n');
}

function flagLines(flags: FlagSpecs): string[] {
	const left = Object.entries(flags).map(([name, spec]) => `--${kebabCase(name)}${spec.value ? ` ${spec.value}` : ''}${spec.multiple ? '...' : ''}`);
	const width = Math.max(...left.map(text => text.length));
	return Object.values(flags).map((spec, index) => `  ${left[index]!.padEnd(width)}  ${spec.description}`);
}
