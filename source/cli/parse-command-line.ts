/**
 * Reads a command line against a command table: the global flags anywhere (before or after the
 * command's name), the command's own flags after it, words, and everything after `--` untouched.
 * Pure: what to do comes back as data; bad usage is one XiError('USAGE') naming what was wrong.
 */
import {parseArgs, type ParseArgsConfig} from 'node:util';
import {XiError} from '../errors.js';
import {globalFlags, kebabCase, type CommandTable, type FlagSpecs} from './command.js';

export type CommandLine =
	| {kind: 'overview'; explicit: boolean}
	| {kind: 'version'}
	| {kind: 'help'; command: string}
	| {kind: 'run'; command: string; flags: Record<string, unknown>; args: string[]; rest: string[]};

export type ParseOptions = {
	program: string;
	/** The command a bare invocation runs (the console, in a terminal); none: the overview. */
	defaultCommand?: string;
};

export function parseCommandLine(argv: readonly string[], table: CommandTable<unknown>, options: ParseOptions): CommandLine {
	const separator = argv.indexOf('--');
	const before = separator === -1 ? [...argv] : argv.slice(0, separator);
	const rest = separator === -1 ? [] : argv.slice(separator + 1);
	const found = commandPosition(before);
	let {position} = found;
	const {leading} = found;
	if (leading !== undefined && position !== undefined) {
		if (options.defaultCommand === undefined) {
			throw new XiError('USAGE', `${leading} is not a global option: put it after the command's name; see \`${options.program} --help\`.`);
		}

		// `xi-exec --pair-listen HOST:PORT`: the default command's own flags, with no command named.
		position = undefined;
	}

	const word = position === undefined ? undefined : before[position];
	if (word === 'help') {
		const topic = before[position! + 1];
		return topic === undefined ? {kind: 'overview', explicit: true} : {kind: 'help', command: knownCommand(topic, table, options.program)};
	}

	const name = word ?? options.defaultCommand;
	const own = name === undefined ? {} : table[knownCommand(name, table, options.program)]!.flags;
	if (word === undefined) {
		const bare = parseFlags(before, {...globalFlags, ...own}, false, options.program, undefined);
		if (bare.flags['version']) {
			return {kind: 'version'};
		}

		const help = Boolean(bare.flags['help']);
		return name === undefined || help ? {kind: 'overview', explicit: help} : {kind: 'run', command: name, ...bare, rest};
	}

	const words = [...before.slice(0, position), ...before.slice(position! + 1)];
	const command = table[name!]!;
	if (words.includes('--help') || words.includes('-h')) {
		return {kind: 'help', command: name!};
	}

	const parsed = parseFlags(words, {...globalFlags, ...own}, Boolean(command.takesArgs), options.program, name);
	return parsed.flags['version'] ? {kind: 'version'} : {kind: 'run', command: name!, ...parsed, rest};
}

/**
 * The index of the command's name (the first word that is neither a flag nor a global flag's
 * value), and the first flag before it that is not a global one.
 */
function commandPosition(tokens: readonly string[]): {position?: number; leading?: string} {
	let leading: string | undefined;
	for (let index = 0; index < tokens.length; index++) {
		const token = tokens[index]!;
		if (!token.startsWith('-')) {
			return {position: index, ...(leading === undefined ? {} : {leading})};
		}

		leading ??= isGlobalToken(token) ? undefined : token;
		if (takesValue(token)) {
			index++;
		}
	}

	return {};
}

function isGlobalToken(token: string): boolean {
	const name = token.replace(/^--/, '').replace(/=.*$/s, '');
	return token.startsWith('--') && Object.keys(globalFlags).some(flag => kebabCase(flag) === name);
}

function takesValue(token: string): boolean {
	return !token.includes('=') && Object.entries(globalFlags).some(([flag, spec]) => spec.type !== 'boolean' && token === `--${kebabCase(flag)}`);
}

function knownCommand(name: string, table: CommandTable<unknown>, program: string): string {
	if (!Object.hasOwn(table, name)) {
		throw new XiError('USAGE', `unknown command ${JSON.stringify(name)}; run ${program} --help.`);
	}

	return name;
}

type Parsed = {flags: Record<string, unknown>; args: string[]};

function parseFlags(tokens: string[], specs: FlagSpecs, allowPositionals: boolean, program: string, command: string | undefined): Parsed {
	const config: ParseArgsConfig['options'] = {};
	for (const [name, spec] of Object.entries(specs)) {
		config[kebabCase(name)] = {type: spec.type === 'boolean' ? 'boolean' : 'string', ...(spec.multiple ? {multiple: true} : {})};
	}

	let parsed: {values: Record<string, unknown>; positionals: string[]};
	try {
		parsed = parseArgs({args: tokens, options: config, strict: true, allowPositionals});
	} catch (error) {
		const reason = (error as Error).message.replace(/\. To specify a positional argument.*$/s, '').replace(/\.$/, '');
		const where = command === undefined ? `${program} --help` : `${program} ${command} --help`;
		throw new XiError('USAGE', `${reason}; see \`${where}\`.`, {cause: error});
	}

	const flags: Record<string, unknown> = {};
	for (const [name, spec] of Object.entries(specs)) {
		const given = parsed.values[kebabCase(name)];
		flags[name] = spec.type === 'boolean' ? given === true : spec.type === 'number' ? toNumbers(name, given) : given ?? (spec.multiple ? [] : undefined);
	}

	return {flags, args: parsed.positionals};
}

function toNumbers(name: string, given: unknown): unknown {
	if (Array.isArray(given)) {
		return given.map(item => toNumber(name, item as string));
	}

	return given === undefined ? undefined : toNumber(name, given as string);
}

function toNumber(name: string, text: string): number {
	const value = text.trim() === '' ? Number.NaN : Number(text);
	if (!Number.isFinite(value)) {
		throw new XiError('USAGE', `--${kebabCase(name)} takes a number; got ${JSON.stringify(text)}.`);
	}

	return value;
}
