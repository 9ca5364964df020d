/** Each command's help, compared with the flags it declares, for both executables. */
import test from 'ava';
import {agentCommands, agentProgram} from '../../agent/cli/index.js';
import {globalFlags, kebabCase} from '../../source/cli/command.js';
import {commandHelp, overviewHelp} from '../../source/cli/help.js';
import {controllerCommands, controllerProgram} from '../../source/cli/commands/index.js';

const executables = [
	{program: controllerProgram, table: controllerCommands},
	{program: agentProgram, table: agentCommands},
];

const flagsIn = (text: string) => new Set([...text.matchAll(/(?<![\w-])--([a-z][a-z\d-]*)/g)].map(match => match[1]!));
const spelled = (flags: object) => Object.keys(flags).map(name => kebabCase(name));

for (const {program, table} of executables) {
	for (const command of Object.values(table)) {
		test(`${program.name} ${command.name} --help lists every flag it declares, and no other`, t => {
			const help = commandHelp(program, command);
			const options = help.slice(help.indexOf('\nOptions\n'), help.indexOf('\nGlobal options\n'));
			const declared = spelled(command.flags);
			t.deepEqual(declared.filter(flag => !options.includes(`  --${flag}`)), [], 'declared but not in Options');
			const known = new Set([...declared, ...spelled(globalFlags)]);
			// The prose may name other commands' flags; flags after `--` in an example are the script's.
			const {description: _prose, ...withoutProse} = command;
			const ownText = commandHelp(program, withoutProse).replaceAll(/ -- .*$/gm, '');
			t.deepEqual([...flagsIn(ownText)].filter(flag => !known.has(flag)), [], 'mentioned but not declared');
			for (const line of command.usage) {
				t.true(help.includes(`  $ ${program.name} ${line}\n`));
			}

			t.regex(help, /\nExit status\n(?: {2}.*\n)+$/);
		});
	}

	test(`${program.name} --help lists every command once, with its summary`, t => {
		const help = overviewHelp(program, table);
		for (const command of Object.values(table).filter(command => !command.hidden)) {
			t.regex(help, new RegExp(`^  ${command.name} +${command.summary.replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
		}

		const anyCommand = new Set([...spelled(globalFlags), ...Object.values(table).flatMap(command => spelled(command.flags))]);
		t.deepEqual([...flagsIn(help)].filter(flag => !anyCommand.has(flag)), [], 'a flag no command declares');
	});
}
