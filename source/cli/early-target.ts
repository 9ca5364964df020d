/**
 * Which agent a command line will run on, read before the CLI has loaded its command table, so
 * that its TLS connection can be made while the rest loads (io/early-dial.ts): only `run SCRIPT
 * --on NAME` with one plain agent name and nothing that makes it another kind of run (--exclude,
 * --rerun, --approved) or no run at all (--help, --version). Anything else, or anything this does
 * not understand, is undefined: the command dials as it always does. Only a hint: the command line
 * is still read in full by parse-command-line.ts, and a connection nobody asks for is closed. Pure.
 */
import {parseArgs} from 'node:util';
import {isAgentName, reservedAgentNames} from '../protocol/text-checks.js';

export type EarlyTarget = {agent: string; home: string | undefined};

export function earlyTarget(argv: readonly string[]): EarlyTarget | undefined {
	const separator = argv.indexOf('--');
	const words = separator === -1 ? [...argv] : argv.slice(0, separator);
	if (!globalsOnlyBefore(words, words.indexOf('run'))) {
		return undefined;
	}

	let parsed;
	try {
		parsed = parseArgs({
			args: words,
			strict: false,
			allowPositionals: true,
			options: {
				on: {type: 'string', multiple: true},
				home: {type: 'string'},
				exclude: {type: 'string', multiple: true},
				rerun: {type: 'string'},
				approved: {type: 'string'},
				help: {type: 'boolean', short: 'h'},
				version: {type: 'boolean'},
			},
		});
	} catch {
		return undefined;
	}

	const {values, positionals} = parsed;
	const on = values['on'];
	const agent = Array.isArray(on) && on.length === 1 ? on[0] : undefined;
	const other = ['exclude', 'rerun', 'approved', 'help', 'version'].some(flag => values[flag] !== undefined);
	if (positionals[0] !== 'run' || other || typeof agent !== 'string' || !isAgentName(agent) || reservedAgentNames.has(agent)) {
		return undefined;
	}

	const home = values['home'];
	return {agent, home: typeof home === 'string' ? home : undefined};
}

/** Only global flags before the command's name (anything else there is not a run: the runner refuses it or opens the console). */
function globalsOnlyBefore(words: readonly string[], command: number): boolean {
	for (let index = 0; index < command; index++) {
		const word = words[index]!;
		if (word === '--home') {
			index++;
		} else if (!['--json', '--no-color', '--debug'].includes(word) && !word.startsWith('--home=')) {
			return false;
		}
	}

	return command >= 0;
}
