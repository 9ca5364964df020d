/** `--on` and `--exclude`, as every command that selects agents declares and reads them. */
import type {FlagSpec} from '../command.js';

export const onFlag = {type: 'string', multiple: true, value: 'SELECTOR', description: 'the agents: names, ranges, globs, KEY=VALUE,..., @FILE, - or all (repeat for OR)'} as const satisfies FlagSpec;
export const excludeFlag = {type: 'string', multiple: true, value: 'SELECTOR', description: 'leave these agents out (as a leading ! in --on)'} as const satisfies FlagSpec;

/** The selector values the core reads: @FILE and - expanded (read-selector.ts). */
export async function selectorValues(flags: {on: string[]; exclude: string[]}): Promise<string[]> {
	const {readSelectorArguments} = await import('../read-selector.js');
	return readSelectorArguments(flags.on, flags.exclude);
}
