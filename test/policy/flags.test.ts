/** The forbidden-flag matcher against the ways programs parse options, and the neighbours of each. */
import test from 'ava';
import {findForbiddenFlag, type FlagRules} from '../../source/policy/flags.js';

type Row = {title: string; args: string[]; forbid: string[]; rules?: FlagRules; hit: string | undefined};
const tar: FlagRules = {syntax: 'tar', longOptions: ['--checkpoint']};
// GNU tar 1.34's own option table (`tar --help`): the letters after which a value follows.
const tarShortOptions = 'ABC:F:GH:I:JK:L:MN:OPRST:UV:WX:Zab:cdf:g:hijklmnoprstuvwxz';
const tarTable: FlagRules = {syntax: 'tar', shortOptions: tarShortOptions, longOptions: ['--checkpoint', '--file=']};
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
	// tar's first word without a table: any letter may take one of the next arguments, so a `--` there ends nothing.
	{title: 'tar cf -- -I PROG (-- is the archive, -I an option)', args: ['cf', '--', '-I', 'prog', 'dir'], forbid: ['-I'], rules: {syntax: 'tar'}, hit: '-I (forbidden: -I)'},
	{title: 'tar cfb X -- -I PROG (-- is the blocking factor)', args: ['cfb', 'x.tar', '--', '-I', 'prog'], forbid: ['-I'], rules: {syntax: 'tar'}, hit: '-I (forbidden: -I)'},
	{title: 'neighbour: tar cf X DIR -- -I (-- past the first word\'s values ends options)', args: ['cf', 'x.tar', 'dir', '--', '-I'], forbid: ['-I'], rules: {syntax: 'tar'}, hit: undefined},
	// A declared option table (shortOptions, getopt's option string): values are read as getopt reads them.
	{title: 'table: -fImportant.tar is -f with a value', args: ['-fImportant.tar', 'dir'], forbid: tarForbid, rules: tarTable, hit: undefined},
	{title: 'neighbour: no table, -fImportant.tar is over-blocked', args: ['-fImportant.tar', 'dir'], forbid: ['-I'], rules: {syntax: 'tar'}, hit: '-I (forbidden: -I)'},
	{title: 'table: -cvfImportant.tar', args: ['-cvfImportant.tar', 'dir'], forbid: tarForbid, rules: tarTable, hit: undefined},
	{title: 'table: -cvfI (the archive is I)', args: ['-cvfI', 'dir'], forbid: tarForbid, rules: tarTable, hit: undefined},
	{title: 'table: -Iprog', args: ['-Iprog', '-cf', 'x.tar'], forbid: tarForbid, rules: tarTable, hit: '-I (forbidden: -I)'},
	{title: 'table: -I=prog', args: ['-I=prog'], forbid: tarForbid, rules: tarTable, hit: '-I (forbidden: -I)'},
	{title: 'table: -cvIprog (I before the value letter)', args: ['-cvIprog', '-f', 'x.tar'], forbid: tarForbid, rules: tarTable, hit: '-I (forbidden: -I)'},
	{title: 'table: -cIf (I takes f)', args: ['-cIf', 'x.tar'], forbid: tarForbid, rules: tarTable, hit: '-I (forbidden: -I)'},
	{title: 'table: -cvI PROG (I at the end of a cluster)', args: ['-cvI', 'prog', '-f', 'x.tar'], forbid: tarForbid, rules: tarTable, hit: '-I (forbidden: -I)'},
	{title: 'table: -f -I (the archive is named -I)', args: ['-c', '-f', '-I', 'dir'], forbid: tarForbid, rules: tarTable, hit: undefined},
	{title: 'table: -f X -I PROG', args: ['-c', '-f', 'x.tar', '-I', 'prog'], forbid: tarForbid, rules: tarTable, hit: '-I (forbidden: -I)'},
	{title: 'table: -b -I (the blocking factor is -I)', args: ['-cb', '-I', '-f', 'x.tar'], forbid: tarForbid, rules: tarTable, hit: undefined},
	{title: 'table: -b 20 -I PROG', args: ['-cb', '20', '-I', 'prog'], forbid: tarForbid, rules: tarTable, hit: '-I (forbidden: -I)'},
	{title: 'table: -f -- -I PROG (-- is the archive)', args: ['-c', '-f', '--', '-I', 'prog'], forbid: tarForbid, rules: tarTable, hit: '-I (forbidden: -I)'},
	{title: 'table: -v -- -I (-- ends options)', args: ['-cvf', 'x.tar', '--', '-I'], forbid: tarForbid, rules: tarTable, hit: undefined},
	{title: 'table: an unknown letter takes no value (-QIprog)', args: ['-QIprog'], forbid: tarForbid, rules: tarTable, hit: '-I (forbidden: -I)'},
	{title: 'table: tar cfI X PROG', args: ['cfI', 'x.tar', 'prog', 'dir'], forbid: tarForbid, rules: tarTable, hit: '-I (forbidden: -I)'},
	{title: 'table: tar cf -I DIR (the archive is named -I)', args: ['cf', '-I', 'dir'], forbid: tarForbid, rules: tarTable, hit: undefined},
	{title: 'table: tar cf -- -I PROG', args: ['cf', '--', '-I', 'prog', 'dir'], forbid: tarForbid, rules: tarTable, hit: '-I (forbidden: -I)'},
	{title: 'table: tar cf X -I PROG', args: ['cf', 'x.tar', '-I', 'prog'], forbid: tarForbid, rules: tarTable, hit: '-I (forbidden: -I)'},
	{title: 'table: --file -I (declared --file=: -I is the archive)', args: ['-c', '--file', '-I', 'dir'], forbid: tarForbid, rules: tarTable, hit: undefined},
	{title: 'table: --file=X -I PROG', args: ['-c', '--file=x.tar', '-I', 'prog'], forbid: tarForbid, rules: tarTable, hit: '-I (forbidden: -I)'},
	{title: 'table: --fil -I (an abbreviation is not known to take a value: over-blocked)', args: ['-c', '--fil', '-I', 'dir'], forbid: tarForbid, rules: tarTable, hit: '-I (forbidden: -I)'},
	{title: 'table: --checkpoint -- -I (whether -- is its value is unknown)', args: ['-c', '--checkpoint', '--', '-I', 'prog'], forbid: tarForbid, rules: tarTable, hit: '-I (forbidden: -I)'},
	{title: 'table: long forms still match', args: ['-cf', 'x.tar', '--use-compress=prog'], forbid: tarForbid, rules: tarTable, hit: '"--use-compress=prog" (forbidden: --use-compress-program)'},
	{title: 'table: a cluster forbidden whole (-rf) under getopt', args: ['-r', '-vf'], forbid: ['-rf'], rules: {syntax: 'getopt', shortOptions: 'rfvo:'}, hit: '-r -f (forbidden: -rf)'},
	{title: 'table: -of is -o with the value f', args: ['-r', '-of'], forbid: ['-rf'], rules: {syntax: 'getopt', shortOptions: 'rfvo:'}, hit: undefined},
	{title: 'table: an optional value is attached only (-ov: o\'s value is v)', args: ['-ov'], forbid: ['-v'], rules: {syntax: 'getopt', shortOptions: 'vo::'}, hit: undefined},
	{title: 'table: an optional value is attached only (-o -v: -v is an option)', args: ['-o', '-v'], forbid: ['-v'], rules: {syntax: 'getopt', shortOptions: 'vo::'}, hit: '-v (forbidden: -v)'},
	// none: the program parses no options.
	{title: 'none: an exact forbidden word', args: ['--force'], forbid: ['--force'], rules: {syntax: 'none'}, hit: '"--force" (forbidden)'},
	{title: 'none: -rf is no cluster', args: ['-fr'], forbid: ['-rf'], rules: {syntax: 'none'}, hit: undefined},
];

for (const row of rows) {
	test(`findForbiddenFlag: ${row.title}`, t => {
		t.is(findForbiddenFlag(row.args, row.forbid, row.rules), row.hit);
	});
}
