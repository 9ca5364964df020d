/**
 * The completion scripts parse (`bash -n`, `zsh -n` when zsh is installed), and the bash one
 * completes what it should: its function is called as bash's `complete -F` would, with COMP_LINE
 * and COMP_POINT set, and a stand-in program answering `completion --list KIND`.
 */
import {execFileSync} from 'node:child_process';
import {chmodSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {bashCompletion, zshCompletion, type CompletionSpec} from '../../source/output/completion-script.js';
import {temporaryDirectory} from '../helpers/fleet.js';

const spec: CompletionSpec = {
	program: 'xi-exec',
	globalFlags: [{flag: '--home', value: 'directory'}, {flag: '--json'}, {flag: '--debug'}],
	commands: [
		{name: 'run', summary: 'run a script', subcommands: [], positional: 'scripts', flags: [{flag: '--on', value: 'selectors'}, {flag: '--exclude', value: 'selectors'}, {flag: '--parallel', value: 'other'}, {flag: '--outdir', value: 'directory'}, {flag: '--dry-run'}]},
		{name: 'runs', summary: 'the history: runs, runs show ID', subcommands: ['show'], positional: 'runs', flags: [{flag: '--agent', value: 'agents'}]},
		{name: 'unpair', summary: 'revoke an agent', subcommands: [], positional: 'agents', flags: []},
		{name: 'token', summary: 'tokens', subcommands: ['create', 'list', 'revoke'], flags: [{flag: '--token-file', value: 'file'}]},
	],
};

function has(shell: string): boolean {
	try {
		execFileSync(shell, ['-c', 'true'], {stdio: 'ignore'});
		return true;
	} catch {
		return false;
	}
}

test('the bash script parses (bash -n)', t => {
	const file = join(temporaryDirectory('xi-exec-completion-'), 'xi-exec.bash');
	writeFileSync(file, bashCompletion(spec));
	t.notThrows(() => execFileSync('bash', ['-n', file], {stdio: 'pipe'}));
});

test('the zsh script parses (zsh -n)', t => {
	if (!has('zsh')) {
		t.log('zsh is not installed: skipped');
		t.pass();
		return;
	}

	const file = join(temporaryDirectory('xi-exec-completion-'), '_xi-exec');
	writeFileSync(file, zshCompletion(spec));
	t.notThrows(() => execFileSync('zsh', ['-n', file], {stdio: 'pipe'}));
});

/** A stand-in `xi-exec` on PATH: answers --list from fixed words, and logs the --home it was given. */
const bin = temporaryDirectory('xi-exec-completion-bin-');
writeFileSync(join(bin, 'xi-exec'), `#!/bin/sh
[ "$1" = completion ] && [ "$2" = --list ] || exit 9
[ "$4" = --home ] && echo "home:$5" >> "${bin}/homes"
case "$3" in
	agents) printf 'web01\\nweb02\\ndb1\\n' ;;
	selectors) printf 'all\\nweb01\\nweb02\\ndb1\\nenv=production\\nenv=staging\\nsite=lon:1\\n' ;;
	scripts) printf 'uptime\\nrestart-web\\n' ;;
	runs) printf 'r-0000001\\n' ;;
esac
`);
chmodSync(join(bin, 'xi-exec'), 0o755);

function complete(line: string): string[] {
	const script = `${bashCompletion(spec)}
COMP_LINE="$1"; COMP_POINT=\${#1}
_xi_exec
printf '%s\\n' "\${COMPREPLY[@]}"`;
	const out = execFileSync('bash', ['-c', script, 'bash', line], {env: {...process.env, PATH: `${bin}:${process.env['PATH'] ?? ''}`}, encoding: 'utf8'});
	return out.split('\n').filter(word => word !== '').sort();
}

const cases: Array<[string, string[]]> = [
	['xi-exec ', ['run', 'runs', 'token', 'unpair']],
	['xi-exec ru', ['run', 'runs']],
	['xi-exec --', ['--debug', '--home', '--json']],
	['xi-exec run ', ['restart-web', 'uptime']],
	['xi-exec run uptime --on we', ['web01', 'web02']],
	['xi-exec run uptime --on d', ['db1']],
	['xi-exec run uptime --exclude a', ['all']],
	// bash replaces only what follows the = (or :): the answer is that part.
	['xi-exec run uptime --on env=p', ['production']],
	['xi-exec run uptime --on site=lon:', ['1']],
	['xi-exec run uptime --dr', ['--dry-run']],
	['xi-exec run uptime --parallel ', []],
	['xi-exec --home /tmp/h run uptime --on db', ['db1']],
	['xi-exec runs ', ['show']],
	['xi-exec runs show ', ['r-0000001']],
	['xi-exec runs --agent w', ['web01', 'web02']],
	['xi-exec unpair ', ['db1', 'web01', 'web02']],
	['xi-exec token ', ['create', 'list', 'revoke']],
	['xi-exec run uptime -- --o', []],
];

for (const [line, expected] of cases) {
	test(`bash completes ${JSON.stringify(line)}`, t => {
		t.deepEqual(complete(line), expected);
	});
}

test('the --home on the line is passed on to the listing', t => {
	complete('xi-exec --home /srv/fleet run uptime --on w');
	t.regex(execFileSync('cat', [join(bin, 'homes')], {encoding: 'utf8'}), /home:\/srv\/fleet/);
});
