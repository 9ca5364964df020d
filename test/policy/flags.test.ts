/** The forbidden-flag matcher against the ways programs parse options, and the neighbours of each. */
import test from 'ava';
import {findForbiddenFlag, type FlagRules} from '../../source/policy/flags.js';

type Row = {title: string; args: string[]; forbid: string[]; rules?: FlagRules; hit: string | undefined};
const tar: FlagRules = {syntax: 'tar', longOptions: ['--checkpoint']};
const tarForbid = ['-I', '--use-compress-program', '--checkpoint-action', '--to-command', '--info-script', '--new-volume-script', '-F'];

const rows: Row[] = [
	// Attached values.
	{title: '-Ivalue', args: ['-Iprog'], forbid: ['-I'], hit: '-I (forbidden: -I)'},
	{title: '-I=value', args: ['-I=prog'], forbid: ['-I'], hit: '-I (forbidden: -I)'},
	{title: '-I with a value that is not alphanumeric', args: ['-Ish -c \'id\''], forbid: ['-I'], hit: '-I (forbidden: -I)'},
	{title: 'neighbour: -i (case)', args: ['-iprog'], forbid: ['-I'], hit: undefined},
	{title: 'neighbour: I in an operand', args: ['Iprog'], forbid: ['-I'], hit: undefined},
	// Clusters ending in a value.
	{title: '-cfIprog', args: ['-cfIprog', 'x.tar'], forbid: ['-I'], hit: '-I (forbidden: -I)'},
	{title: '-cvI prog', args: ['-cvI', 'prog'], forbid: ['-I'], hit: '-I (forbidden: -I)'},
	{title: 'neighbour: -cvf (no I)', args: ['-cvf', 'x.tar', 'dir'], forbid: ['-I'], hit: undefined},
	// tar's dashless first argument.
	{title: 'tar cfI FILE PROG', args: ['cfI', 'x.tar', 'prog', 'dir'], forbid: ['-I'], rules: {syntax: 'tar'}, hit: '-I (forbidden: -I)'},
	{title: 'tar xvfI FILE PROG', args: ['xvfI', 'x.tar', 'prog'], forbid: ['-I'], rules: {syntax: 'tar'}, hit: '-I (forbidden: -I)'},
	{title: 'neighbour: tar cf FILE DIR', args: ['cf', 'x.tar', 'Idir'], forbid: ['-I'], rules: {syntax: 'tar'}, hit: undefined},
	{title: 'neighbour: only the first word is tar-style', args: ['cf', 'x.tar', 'I'], forbid: ['-I'], rules: {syntax: 'tar'}, hit: undefined},
	{title: 'neighbour: the dashless first word under getopt_long is an operand', args: ['cfI', 'x.tar'], forbid: ['-I'], rules: {syntax: 'getopt_long'}, hit: undefined},
	// ps: every dashless word.
	{title: 'ps aux e', args: ['aux', 'e'], forbid: ['-e'], rules: {syntax: 'ps'}, hit: '-e (forbidden: -e)'},
	{title: 'ps auxe', args: ['auxe'], forbid: ['-e'], rules: {syntax: 'ps'}, hit: '-e (forbidden: -e)'},
	{title: 'neighbour: ps aux', args: ['aux'], forbid: ['-e'], rules: {syntax: 'ps'}, hit: undefined},
	// -- ends options, when the syntax is declared and -- cannot be a value.
	{title: '-- then -I (declared getopt)', args: ['--', '-I'], forbid: ['-I'], rules: {syntax: 'getopt'}, hit: undefined},
	{title: 'an operand, --, then -I', args: ['x', '--', '-Iprog'], forbid: ['-I'], rules: {syntax: 'getopt_long'}, hit: undefined},
	{title: '-f --: -- is -f\'s value, -I is an option', args: ['-f', '--', '-I', 'prog'], forbid: ['-I'], rules: {syntax: 'getopt_long'}, hit: '-I (forbidden: -I)'},
	{title: '--file --: -- is --file\'s value', args: ['--file', '--', '--to-command=sh'], forbid: ['--to-command'], rules: {syntax: 'getopt_long'}, hit: '"--to-command=sh" (forbidden: --to-command)'},
	{title: '--file=x --: -- ends options', args: ['--file=x', '--', '--to-command=sh'], forbid: ['--to-command'], rules: {syntax: 'getopt_long'}, hit: undefined},
	{title: 'undeclared: -- ends nothing (a script may reorder)', args: ['--', '-I'], forbid: ['-I'], hit: '-I (forbidden: -I)'},
	{title: 'a forbidden flag before --', args: ['-I', 'prog', '--', 'x'], forbid: ['-I'], rules: {syntax: 'getopt'}, hit: '-I (forbidden: -I)'},
	// Long forms and their abbreviations.
	{title: '--use-compress-program=sh', args: ['--use-compress-program=sh'], forbid: tarForbid, rules: tar, hit: '"--use-compress-program=sh" (forbidden: --use-compress-program)'},
	{title: 'an abbreviation: --use-compress=sh', args: ['--use-compress=sh'], forbid: tarForbid, rules: tar, hit: '"--use-compress=sh" (forbidden: --use-compress-program)'},
	{title: 'an abbreviation: --checkpoint-a=exec=sh', args: ['--checkpoint-a=exec=sh'], forbid: tarForbid, rules: tar, hit: '"--checkpoint-a=exec=sh" (forbidden: --checkpoint-action)'},
	{title: 'neighbour: --checkpoint=1 is its own option when declared', args: ['--checkpoint=1'], forbid: tarForbid, rules: tar, hit: undefined},
	{title: 'undeclared --checkpoint=1 is read as an abbreviation (over-blocked, never under)', args: ['--checkpoint=1'], forbid: ['--checkpoint-action'], hit: '"--checkpoint=1" (forbidden: --checkpoint-action)'},
	{title: 'neighbour: --checkpointx is no prefix', args: ['--checkpointx'], forbid: ['--checkpoint-action'], hit: undefined},
	// none: the program parses no options.
	{title: 'none: an exact forbidden word', args: ['--force'], forbid: ['--force'], rules: {syntax: 'none'}, hit: '"--force" (forbidden)'},
	{title: 'none: -rf is no cluster', args: ['-fr'], forbid: ['-rf'], rules: {syntax: 'none'}, hit: undefined},
];

for (const row of rows) {
	test(`findForbiddenFlag: ${row.title}`, t => {
		t.is(findForbiddenFlag(row.args, row.forbid, row.rules), row.hit);
	});
}
