/**
 * Which interpreter runs an allowlisted script, and what it reads, over a real agent (root), for
 * every interpreter installed here: shells (dash, bash, zsh, busybox sh) and the others (Python,
 * Perl, Node). Each script says which executable it runs in (/proc/self/exe) and what its fd 4 is.
 *
 * - A shell reads a private, unnamed copy of the checked bytes (/dev/shm/#N (deleted)); any other
 *   interpreter reads the checked file itself (its own directory matters to it).
 * - A process that holds the script open for writing (opened before the agent loaded it): a shell
 *   still runs the copy; any other interpreter is refused just before the start (ETXTBSY: asked of
 *   the kernel after the policy's decision and the slot), since it reads the file only after the
 *   start. A dry run is refused the same way.
 * - `#!/usr/bin/env NAME` runs the interpreter the entry names, whatever is first on the agent's
 *   PATH (here an impostor directory, and on this host pyenv's python3 shim); `env -S` is refused.
 * - Python behind a shell wrapper finds the module beside its script, never one planted in
 *   /dev/shm (a copy there made /dev/shm, writable by everyone, its sys.path[0]).
 *
 * Each row asserts the run's result and the records it left in the agent's audit log. A missing
 * interpreter skips its rows with the reason printed. Needs root (scripts are root's, the agent
 * runs as root as in production).
 */
import {closeSync, existsSync, mkdirSync, openSync, realpathSync, rmSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {baseDirectory, executable, runOn, tableAgent, type TableAgent} from './agent-run.js';

const isRoot = process.getuid?.() === 0;

type Interpreter = {name: string; path: string; shell: boolean; argument?: string; body: (marker: string) => string};

const shellBody = (marker: string) => `echo "exe=$(readlink /proc/$$/exe) reads=$(readlink /proc/self/fd/4) ${marker} $*"\n`;
const interpreters: Interpreter[] = [
	{name: 'dash', path: '/usr/bin/dash', shell: true, body: shellBody},
	{name: 'bash', path: '/usr/bin/bash', shell: true, body: shellBody},
	{name: 'zsh', path: '/usr/bin/zsh', shell: true, body: shellBody},
	{name: 'busybox', path: '/usr/bin/busybox', argument: 'sh', shell: true, body: shellBody},
	{name: 'python3', path: '/usr/bin/python3', shell: false, body: marker => `import os, sys\nprint("exe=" + os.readlink("/proc/self/exe"), "reads=" + os.readlink("/proc/self/fd/4"), ${JSON.stringify(marker)}, *sys.argv[1:])\n`},
	{name: 'perl', path: '/usr/bin/perl', shell: false, body: marker => `print "exe=" . readlink("/proc/self/exe") . " reads=" . readlink("/proc/self/fd/4") . " ${marker} @ARGV\\n";\n`},
	{name: 'node', path: process.execPath, shell: false, body: marker => `const fs = require('node:fs');\nconsole.log(\`exe=\${fs.readlinkSync('/proc/self/exe')} reads=\${fs.readlinkSync('/proc/self/fd/4')} ${marker} \${process.argv.slice(2).join(' ')}\`);\n`},
];
const installed = interpreters.filter(interpreter => existsSync(interpreter.path));
const missing = interpreters.filter(interpreter => !existsSync(interpreter.path));

const copy = /^\/dev\/shm\/#\d+ \(deleted\)$/;

type Setup = {target: TableAgent; directory: string; held: number[]; planted: string[]};
let setup: Setup | undefined;

test.before(async () => {
	if (!isRoot) {
		return;
	}

	const directory = baseDirectory('xi-exec-interpreters-');
	const entries: Record<string, {path: string; interpreter?: string}> = {};
	for (const interpreter of installed) {
		const line = `#!${interpreter.path}${interpreter.argument ? ` ${interpreter.argument}` : ''}\n`;
		entries[`${interpreter.name}`] = {path: executable(join(directory, interpreter.name), line + interpreter.body('free'))};
		entries[`${interpreter.name}-held`] = {path: executable(join(directory, `${interpreter.name}-held`), line + interpreter.body('held'))};
	}

	// The agent's PATH starts with a directory of impostors; the scripts say `env NAME`.
	const impostors = join(directory, 'impostors');
	mkdirSync(impostors, {mode: 0o755});
	for (const name of ['python3', 'perl', 'node']) {
		executable(join(impostors, name), '#!/bin/sh\necho "impostor ran"\n');
	}

	for (const interpreter of installed.filter(candidate => !candidate.shell)) {
		entries[`env-${interpreter.name}`] = {path: executable(join(directory, `env-${interpreter.name}`), `#!/usr/bin/env ${interpreter.name}\n${interpreter.body('env')}`), interpreter: interpreter.path};
	}

	if (existsSync('/usr/bin/python3')) {
		entries['env-split'] = {path: executable(join(directory, 'env-split'), '#!/usr/bin/env -S python3 -u\nprint("ran")\n'), interpreter: '/usr/bin/python3'};
		entries['env-unnamed'] = {path: executable(join(directory, 'env-unnamed'), '#!/usr/bin/env python3\nprint("ran")\n')};
	}

	const planted: string[] = [];
	if (existsSync('/usr/bin/python3')) {
		// A module beside the script, and one of the same name planted in /dev/shm (anyone may write there).
		const module = `xi_exec_beside_${process.pid}`;
		writeFileSync(join(directory, `${module}.py`), 'WHERE = "beside the script"\n', {mode: 0o644});
		const plantedPath = `/dev/shm/${module}.py`;
		writeFileSync(plantedPath, 'WHERE = "planted in /dev/shm"\n', {mode: 0o644});
		planted.push(plantedPath);
		const importing = `import ${module}\nprint(${module}.WHERE)\n`;
		const wrapper = executable(join(directory, 'python-wrapper'), '#!/bin/sh\nexec /usr/bin/python3 "$@"\n');
		entries['python-wrapped'] = {path: executable(join(directory, 'python-wrapped'), `#!${wrapper}\n${importing}`)};
		entries['python-import'] = {path: executable(join(directory, 'python-import'), `#!/usr/bin/python3\n${importing}`)};
	}

	const held = installed.map(interpreter => openSync(entries[`${interpreter.name}-held`]!.path, 'r+'));
	const target = await tableAgent('interp1', entries, {env: {PATH: `${impostors}:${process.env['PATH'] ?? '/usr/bin:/bin'}`}});
	setup = {target, directory, held, planted};
});

test.after.always(async () => {
	await setup?.target.running.stop();
	for (const fd of setup?.held ?? []) {
		closeSync(fd);
	}

	for (const path of setup?.planted ?? []) {
		rmSync(path, {force: true});
	}
});

function ready(): Setup {
	if (!setup) {
		throw new Error('the agent did not start');
	}

	return setup;
}

if (!isRoot) {
	test('interpreters: skipped', t => {
		t.log(`SKIPPED: this test runs as uid ${process.getuid?.() ?? '?'}, not root: the agent must run as root, as in production, with root's scripts`);
		t.pass();
	});
}

for (const interpreter of missing) {
	test(`${interpreter.name}: skipped`, t => {
		t.log(`SKIPPED: ${interpreter.path} is not installed here`);
		t.pass();
	});
}

const rootTest = isRoot ? test.serial : test.skip;

for (const interpreter of installed) {
	const exe = realpathSync(interpreter.path);
	rootTest(`${interpreter.name}: runs as the checked executable, reading ${interpreter.shell ? 'a private copy' : 'the checked file'}`, async t => {
		const {target, directory} = ready();
		const outcome = await runOn(target, interpreter.name, ['a b']);
		t.is(outcome.status, 'ok', outcome.reason ?? outcome.stderr);
		const [, exeSeen, reads, rest] = /^exe=(\S+) reads=(.+) (free .*)\n$/.exec(outcome.stdout) ?? [];
		t.is(exeSeen, exe, outcome.stdout);
		if (interpreter.shell) {
			t.regex(reads ?? '', copy);
		} else {
			t.is(reads, join(directory, interpreter.name));
		}

		t.is(rest, 'free a b');
		t.deepEqual(outcome.events, ['request.received', 'decision', 'run.start', 'run.finish']);
		t.like(outcome.records.at(-1), {event: 'run.finish', status: 'ok', exitCode: 0});
	});

	rootTest(`${interpreter.name}: a process holds the script open for writing → ${interpreter.shell ? 'the copy runs' : 'refused before anything starts (ETXTBSY)'}`, async t => {
		const {target, directory} = ready();
		const path = join(directory, `${interpreter.name}-held`);
		const outcome = await runOn(target, `${interpreter.name}-held`);
		if (interpreter.shell) {
			t.is(outcome.status, 'ok', outcome.reason);
			t.regex(outcome.stdout, new RegExp(`^exe=${exe} reads=/dev/shm/#\\d+ \\(deleted\\) held \\n$`));
			t.deepEqual(outcome.events, ['request.received', 'decision', 'run.start', 'run.finish']);
			return;
		}

		const reason = `script ${interpreter.name}-held is refused: ${path} is open for writing by another process (ETXTBSY), and its interpreter reads it only after the start, so what runs could differ from what was checked; close it (fuser -v ${path} names the process), then run again`;
		t.is(outcome.status, 'denied');
		t.is(outcome.reason, reason);
		t.is(outcome.stdout, '');
		t.deepEqual(outcome.events, ['request.received', 'decision', 'run.refused'], 'allowed by policy, then refused just before the start (the probe is the last step before it): nothing started');
		t.like(outcome.records.at(-1), {event: 'run.refused', script: `${interpreter.name}-held`, status: 'denied', reason});
		const dry = await runOn(target, `${interpreter.name}-held`, [], {dryRun: true});
		t.like(dry, {status: 'denied', reason, stdout: ''}, 'a dry run says what the run would meet');
		t.deepEqual(dry.events, ['request.received', 'decision', 'run.refused']);
		t.like(dry.records.at(-1), {event: 'run.refused', status: 'denied', reason});
	});

	if (!interpreter.shell) {
		rootTest(`${interpreter.name}: #!/usr/bin/env ${interpreter.name} runs the interpreter the entry names, not the first on the agent's PATH`, async t => {
			const {target, directory} = ready();
			const outcome = await runOn(target, `env-${interpreter.name}`, ['x']);
			t.is(outcome.status, 'ok', outcome.reason ?? outcome.stderr);
			t.is(outcome.stdout, `exe=${exe} reads=${join(directory, `env-${interpreter.name}`)} env x\n`);
			t.notRegex(outcome.stdout, /impostor/);
			t.deepEqual(outcome.events, ['request.received', 'decision', 'run.start', 'run.finish']);
		});
	}
}

const pythonTest = isRoot && existsSync('/usr/bin/python3') ? test.serial : test.skip;

pythonTest('#!/usr/bin/env -S python3 -u is refused, and #!/usr/bin/env python3 without the interpreter named too; nothing runs', async t => {
	const {target, directory} = ready();
	const cases = [
		{script: 'env-split', reason: `script env-split is refused: ${join(directory, 'env-split')} starts with #!/usr/bin/env -S python3 -u, which is not \`env python3\` for the interpreter /usr/bin/python3 its entry names`},
		{script: 'env-unnamed', reason: `script env-unnamed is refused: ${join(directory, 'env-unnamed')} starts with #!/usr/bin/env python3, which finds its interpreter on PATH; name the interpreter in the allowlist entry ("interpreter": "/usr/bin/NAME", or --interpreter with xi-exec-agent allow)`},
	];
	for (const c of cases) {
		const outcome = await runOn(target, c.script);
		t.is(outcome.status, 'denied', c.script);
		t.is(outcome.reason, c.reason, c.script);
		t.is(outcome.stdout, '', c.script);
		t.deepEqual(outcome.events, ['request.received', 'run.refused'], c.script);
		t.like(outcome.records.at(-1), {event: 'run.refused', status: 'denied', reason: c.reason}, c.script);
	}
});

pythonTest('python imports the module beside its script, never one planted in /dev/shm: run directly, and behind a shell wrapper', async t => {
	const {target} = ready();
	for (const script of ['python-import', 'python-wrapped']) {
		const outcome = await runOn(target, script);
		t.is(outcome.status, 'ok', `${script}: ${outcome.reason ?? outcome.stderr}`);
		t.is(outcome.stdout, 'beside the script\n', script);
		t.deepEqual(outcome.events, ['request.received', 'decision', 'run.start', 'run.finish'], script);
	}
});
