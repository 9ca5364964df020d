/** The shared command-line reader, as a table: what each line means, or the exact refusal. */
import test from 'ava';
import {defineCommand, type CommandTable} from '../../source/cli/command.js';
import {parseCommandLine, type CommandLine} from '../../source/cli/parse-command-line.js';

const noop = async () => 0;
const table: CommandTable<unknown> = {
	run: defineCommand({name: 'run', summary: 'run', usage: ['run'], takesArgs: true, run: noop, flags: {
		on: {type: 'string', multiple: true, description: 'on'},
		parallel: {type: 'number', description: 'parallel'},
		dryRun: {type: 'boolean', description: 'dry run'},
	}}),
	init: defineCommand({name: 'init', summary: 'init', usage: ['init'], flags: {}, run: noop}),
	console: defineCommand({name: 'console', summary: 'console', usage: ['console'], flags: {pairListen: {type: 'string', description: 'listen'}}, run: noop}),
};

const globals = {home: undefined, json: false, noColor: false, debug: false, help: false, version: false};
const runFlags = {...globals, on: [], parallel: undefined, dryRun: false};

const rows: Array<{title: string; argv: string[]; terminal?: boolean; result: CommandLine | string}> = [
	{title: 'nothing, no terminal: the overview, as bad usage', argv: [], result: {kind: 'overview', explicit: false}},
	{title: 'nothing, in a terminal: the default command', argv: [], terminal: true, result: {kind: 'run', command: 'console', flags: {...globals, pairListen: undefined}, args: [], rest: []}},
	{title: 'the default command\'s own flag with no command named', argv: ['--pair-listen', '0.0.0.0:7400'], terminal: true, result: {kind: 'run', command: 'console', flags: {...globals, pairListen: '0.0.0.0:7400'}, args: [], rest: []}},
	{title: '--help', argv: ['--help'], terminal: true, result: {kind: 'overview', explicit: true}},
	{title: 'help', argv: ['help'], result: {kind: 'overview', explicit: true}},
	{title: 'help COMMAND', argv: ['help', 'run'], result: {kind: 'help', command: 'run'}},
	{title: 'help of an unknown command', argv: ['help', 'nope'], result: 'unknown command "nope"; run xi-exec --help.'},
	{title: 'COMMAND --help, whatever else is given', argv: ['run', 'x', '--on', 'a', '--bogus', '--help'], result: {kind: 'help', command: 'run'}},
	{title: '--help before the command', argv: ['--help', 'init'], result: {kind: 'help', command: 'init'}},
	{title: '--help after -- is an argument', argv: ['run', 'x', '--', '--help'], result: {kind: 'run', command: 'run', flags: runFlags, args: ['x'], rest: ['--help']}},
	{title: '--version', argv: ['--version'], result: {kind: 'version'}},
	{title: 'COMMAND --version', argv: ['init', '--version'], result: {kind: 'version'}},
	{title: 'global flags before the command', argv: ['--home', '/h', '--json', 'run', 'x'], result: {kind: 'run', command: 'run', flags: {...runFlags, home: '/h', json: true}, args: ['x'], rest: []}},
	{title: 'global flags after the command', argv: ['run', 'x', '--home=/h', '--no-color', '--debug'], result: {kind: 'run', command: 'run', flags: {...runFlags, home: '/h', noColor: true, debug: true}, args: ['x'], rest: []}},
	{title: 'typed flags: repeated, a number, kebab-case', argv: ['run', 'x', '--on', 'a', '--on', 'b=c', '--parallel', '8', '--dry-run'], result: {kind: 'run', command: 'run', flags: {...runFlags, on: ['a', 'b=c'], parallel: 8, dryRun: true}, args: ['x'], rest: []}},
	{title: 'everything after -- is untouched', argv: ['run', 'x', '--', '--on', 'y'], result: {kind: 'run', command: 'run', flags: runFlags, args: ['x'], rest: ['--on', 'y']}},
	{title: 'an unknown command', argv: ['nope'], result: 'unknown command "nope"; run xi-exec --help.'},
	{title: 'a command flag before the command', argv: ['--on', 'a', 'run', 'x'], result: '--on is not a global option: put it after the command\'s name; see `xi-exec --help`.'},
	{title: 'an unknown flag', argv: ['run', 'x', '--bogus'], result: 'Unknown option \'--bogus\'; see `xi-exec run --help`.'},
	{title: 'another command\'s flag', argv: ['init', '--on', 'a'], result: 'Unknown option \'--on\'; see `xi-exec init --help`.'},
	{title: 'a word to a command that takes none', argv: ['init', 'extra'], result: 'Unexpected argument \'extra\'. This command does not take positional arguments; see `xi-exec init --help`.'},
	{title: 'a number flag given words', argv: ['run', 'x', '--parallel', 'abc'], result: '--parallel takes a number; got "abc".'},
	{title: 'a number flag given nothing', argv: ['run', 'x', '--parallel='], result: '--parallel takes a number; got "".'},
	{title: 'a string flag without its value', argv: ['run', 'x', '--home'], result: 'Option \'--home <value>\' argument missing; see `xi-exec run --help`.'},
	{title: 'a boolean flag given a value', argv: ['run', 'x', '--json=yes'], result: 'Option \'--json\' does not take an argument; see `xi-exec run --help`.'},
];

for (const row of rows) {
	test(`parseCommandLine: ${row.title}`, t => {
		const parse = () => parseCommandLine(row.argv, table, {program: 'xi-exec', ...(row.terminal ? {defaultCommand: 'console'} : {})});
		if (typeof row.result === 'string') {
			const error = t.throws(parse);
			t.like(error, {code: 'USAGE', message: row.result});
		} else {
			t.deepEqual(parse(), row.result);
		}
	});
}
