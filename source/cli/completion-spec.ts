/** The command table as the completion scripts need it (output/completion-script.ts writes them). */
import {globalFlags, kebabCase, type CommandTable, type FlagSpecs} from './command.js';
import {valueKindOf, type CompletionCommand, type CompletionFlag, type CompletionSpec, type ListKind} from '../output/completion-script.js';

/** What a command's first word is, where it names something the home knows. */
const positionals: Record<string, ListKind> = {run: 'scripts', tag: 'agents', untag: 'agents', unpair: 'agents', cancel: 'runs', runs: 'runs'};

function flagsOf(flags: FlagSpecs): CompletionFlag[] {
	return Object.entries(flags).flatMap(([name, spec]) => {
		const flag = `--${kebabCase(name)}`;
		const value = valueKindOf(flag, spec.type !== 'boolean');
		return [{flag, ...(value ? {value} : {})}];
	});
}

export function completionSpec(program: string, table: CommandTable<unknown>): CompletionSpec {
	const commands: CompletionCommand[] = Object.values(table).filter(command => !command.hidden).map(command => ({
		name: command.name,
		summary: command.summary,
		// `runs show ID`, `audit verify`, `token create|list|revoke`: the second word of its usage lines.
		subcommands: [...new Set(command.usage.flatMap(line => {
			const word = line.split(/\s+/)[1] ?? '';
			return /^[a-z][a-z-|]*$/.test(word) ? word.split('|') : [];
		}))],
		flags: flagsOf(command.flags),
		...(positionals[command.name] ? {positional: positionals[command.name]} : {}),
	}));
	return {program, commands, globalFlags: flagsOf(globalFlags)};
}
