/** The agent a command line will run on, read before the command table is loaded (cli/early-target.ts): a table of lines. */
import test from 'ava';
import {earlyTarget} from '../../source/cli/early-target.js';

const dialled: Array<[string[], {agent: string; home: string | undefined}]> = [
	[['run', 'uptime', '--on', 'web1'], {agent: 'web1', home: undefined}],
	[['run', 'uptime', '--on=web1'], {agent: 'web1', home: undefined}],
	[['--home', '/srv/xi', 'run', 'uptime', '--on', 'web1', '--json'], {agent: 'web1', home: '/srv/xi'}],
	[['run', '--on', 'db-2.example', 'backup', '--parallel', '3', '--', '--on', 'web9', '--help'], {agent: 'db-2.example', home: undefined}],
	[['run', 'uptime', '--on', 'web1', '--dry-run'], {agent: 'web1', home: undefined}],
];

for (const [argv, expected] of dialled) {
	test(`dialled early: ${argv.join(' ')}`, t => {
		t.deepEqual(earlyTarget(argv), expected);
	});
}

const notDialled: Array<[string, string[]]> = [
	['another command', ['agents', '--on', 'web1']],
	['a command named after the flag', ['--on', 'web1', 'run', 'uptime']],
	['no --on', ['run', 'uptime']],
	['two --on', ['run', 'uptime', '--on', 'web1', '--on', 'web2']],
	['a list', ['run', 'uptime', '--on', 'web1,web2']],
	['a glob', ['run', 'uptime', '--on', 'web*']],
	['a range', ['run', 'uptime', '--on', 'web[1-2]']],
	['a tag', ['run', 'uptime', '--on', 'env=prod']],
	['all', ['run', 'uptime', '--on', 'all']],
	['an exclusion', ['run', 'uptime', '--on', '!web1']],
	['--exclude', ['run', 'uptime', '--on', 'web1', '--exclude', 'web1']],
	['standard input', ['run', 'uptime', '--on', '-']],
	['a file', ['run', 'uptime', '--on', '@hosts']],
	['--help', ['run', 'uptime', '--on', 'web1', '--help']],
	['-h', ['run', '-h', 'uptime', '--on', 'web1']],
	['--version', ['run', 'uptime', '--on', 'web1', '--version']],
	['--rerun', ['run', '--rerun', 'abc', '--on', 'web1']],
	['--approved', ['run', '--approved', 'abc', '--on', 'web1']],
	['--on only after --', ['run', 'uptime', '--', '--on', 'web1']],
	['an upper-case name', ['run', 'uptime', '--on', 'Web1']],
	['an empty name', ['run', 'uptime', '--on', '']],
];

for (const [title, argv] of notDialled) {
	test(`not dialled early: ${title}`, t => {
		t.is(earlyTarget(argv), undefined);
	});
}
