/**
 * install.sh on a Debian 12 minbase root file system with no Node (debootstrap), under chroot:
 * the agent installed, paired with a controller on this host, started, and running a script as
 * the user install.sh created for scripts, for a `run` from the host; an upgrade from the host
 * with --root keeps the pairing; --uninstall and --purge leave exactly what they promise, file
 * list against file list; --dry-run changes nothing. Nothing reaches this host's /etc or /usr:
 * every path is inside the test's own copy of the root, removed at the end.
 */
import {spawnSync} from 'node:child_process';
import {readdirSync, readFileSync, statSync} from 'node:fs';
import {join} from 'node:path';
import type {ExecutionContext} from 'ava';
import {freePort, temporaryDirectory} from '../helpers/fleet.js';
import {debianRootMissing, filesIn, missingFor, preparedRoot} from './debian-root.js';
import {gate} from './gate.js';
import {agentIn, copyRelease, installInside, installScriptAt} from './chroot.js';
import {pair, run, start, succeed, type Program} from './programs.js';
import {releaseDirectory} from './release.js';

const found = releaseDirectory();
const release = 'release' in found ? found.release : '';
const maybe = gate('install.sh under chroot', [
	missingFor(['chroot', 'mount', 'find']),
	process.arch === 'x64' ? undefined : 'the test root is amd64 and this host is not',
	debianRootMissing(),
	'missing' in found ? found.missing : undefined,
], true);

const home = 'var/lib/xi-exec-agent';
const installed = [
	'etc/systemd/system/multi-user.target.wants/xi-exec-agent.service',
	'etc/systemd/system/xi-exec-agent.service',
	'etc/xi-exec-agent.openssl.cnf',
	'usr/local/bin/xi-exec-agent',
];

/** The files of the agent's home with their contents, to compare before and after. */
function homeContents(root: string): Record<string, string> {
	const contents: Record<string, string> = {};
	const walk = (relative: string) => {
		for (const entry of readdirSync(join(root, relative), {withFileTypes: true})) {
			const path = join(relative, entry.name);
			if (entry.isDirectory()) {
				walk(path);
			} else {
				contents[path] = readFileSync(join(root, path), 'utf8');
			}
		}
	};

	walk(home);
	return contents;
}

function difference(after: string[], before: string[]): string[] {
	const earlier = new Set(before);
	return after.filter(path => !earlier.has(path));
}

async function runWhoami(t: ExecutionContext, controller: Program): Promise<void> {
	const ran = await run(controller, ['run', 'whoami', '--on', 'deb1', '--json']);
	t.is(ran.code, 0, ran.stdout + ran.stderr);
	const result = (JSON.parse(ran.stdout) as {results: Array<Record<string, unknown>>}).results[0];
	t.like(result, {agent: 'deb1', status: 'ok', exitCode: 0, stdout: 'xi-exec-run\n'});
}

maybe('the agent installs, pairs, runs a script as its own user, upgrades keeping its pairing, and uninstalls and purges exactly', async t => {
	const {root} = await preparedRoot(fn => t.teardown(fn));
	t.is(spawnSync('chroot', [root, 'sh', '-c', 'command -v node']).status, 127, 'the root has no Node');
	copyRelease(release, root);
	const pristine = filesIn(root);

	// --dry-run prints every action and changes nothing.
	const port = freePort();
	const dry = await installInside(root, ['--agent', '--name', 'deb1', '--listen', `127.0.0.1:${port}`, '--tag', 'os=debian', '--dry-run']);
	t.is(dry.code, 0, dry.stderr);
	t.deepEqual(filesIn(root), pristine);
	for (const action of ['would: inside groupadd --system xi-exec-run', 'would: cp /tmp/release/xi-exec-agent-linux-x64 /usr/local/bin/xi-exec-agent.new', 'would: write /etc/systemd/system/xi-exec-agent.service', `would: inside env XI_EXEC_AGENT_HOME=/var/lib/xi-exec-agent /usr/local/bin/xi-exec-agent init --name deb1 --listen 127.0.0.1:${port} --tag os=debian`]) {
		t.true(dry.stdout.includes(action), `${action} in:\n${dry.stdout}`);
	}

	// The install: user, home, program, unit, enabled; the next step printed.
	const first = await installInside(root, ['--agent', '--name', 'deb1', '--listen', `127.0.0.1:${port}`, '--tag', 'os=debian']);
	t.is(first.code, 0, first.stdout + first.stderr);
	t.regex(first.stdout, /^Installing the Xi-Exec agent on this system \(debian, systemd, single executable for linux-x64\)\./m);
	t.regex(first.stdout, /pair \(while `xi-exec pair --listen HOST:PORT` runs on the controller\):\s+xi-exec-agent pair --controller HOST:PORT/);
	const afterInstall = filesIn(root);
	t.deepEqual(difference(afterInstall, pristine), [...installed, home, `${home}/allowlist.json`, `${home}/config.json`].sort());
	t.deepEqual(difference(pristine, afterInstall), []);
	t.is(statSync(join(root, home)).mode & 0o7777, 0o700);
	t.is(statSync(join(root, home)).uid, 0);
	t.is(statSync(join(root, home, 'config.json')).mode & 0o777, 0o600);
	t.is(statSync(join(root, installed[3]!)).mode & 0o7777, 0o755);
	t.regex(readFileSync(join(root, 'etc/passwd'), 'utf8'), /^xi-exec-run:x:\d+:\d+::\/nonexistent:\/usr\/sbin\/nologin$/m);
	t.is(readFileSync(join(root, installed[1]!), 'utf8'), readFileSync(join(release, 'services/systemd/xi-exec-agent.service'), 'utf8').replaceAll('@BINDIR@', '/usr/local/bin'));
	// The OpenSSL configuration the unit names (OPENSSL_CONF): no TLS session tickets.
	t.is(readFileSync(join(root, installed[2]!), 'utf8'), readFileSync(join(release, 'services/openssl-agent.cnf'), 'utf8'));
	t.is(statSync(join(root, installed[2]!)).mode & 0o7777, 0o644);

	// Pair with a controller on this host, allowlist a script run as xi-exec-run, start, run from the host.
	const controllerHome = join(temporaryDirectory('xi-exec-chroot-'), 'controller');
	const controller: Program = {command: join(release, `xi-exec-linux-x64`), env: {XI_EXEC_HOME: controllerHome}};
	await succeed(controller, ['init']);
	installScriptAt(root, 'usr/local/sbin/xi-whoami', '#!/bin/sh\nid -un\n');
	await succeed(agentIn(root), ['allow', 'whoami', '/usr/local/sbin/xi-whoami', '--run-as', 'xi-exec-run', '--description', 'who runs me']);
	const paired = await pair(controller, agentIn(root), 'deb1');
	t.like(paired.controller, {agent: 'deb1', address: `127.0.0.1:${port}`, tags: {os: 'debian'}});
	let daemon = start(agentIn(root), ['start']);
	t.teardown(async () => daemon.stop('SIGKILL'));
	await daemon.event('listening');
	await runWhoami(t, controller);
	t.is((await daemon.stop()).code, 0);
	const pairedHome = homeContents(root);
	t.true('var/lib/xi-exec-agent/pins.json' in pairedHome);

	// The upgrade, from this host with --root: the program and unit replaced, the home untouched.
	const upgrade = await run({command: 'sh', prefix: [join(release, 'install.sh')]}, ['--agent', '--root', root]);
	t.is(upgrade.code, 0, upgrade.stdout + upgrade.stderr);
	t.regex(upgrade.stdout, new RegExp(`^Upgrading the Xi-Exec agent on ${root} `, 'm'));
	t.regex(upgrade.stdout, /Done: the agent keeps its pairing\./);
	t.deepEqual(homeContents(root), pairedHome);
	daemon = start(agentIn(root), ['start']);
	await daemon.event('listening');
	await runWhoami(t, controller);
	t.is((await daemon.stop()).code, 0);
	const beforeRemoval = filesIn(root);
	const keptHome = homeContents(root);

	// --uninstall: exactly the program, the unit and its link, and the OpenSSL configuration go; the home and the user stay.
	const uninstall = await installInside(root, ['--agent', '--uninstall']);
	t.is(uninstall.code, 0, uninstall.stdout + uninstall.stderr);
	t.regex(uninstall.stdout, /Kept \/var\/lib\/xi-exec-agent \(pairing, audit log, allowlist\) and the user xi-exec-run/);
	const afterUninstall = filesIn(root);
	t.deepEqual(difference(beforeRemoval, afterUninstall), installed);
	t.deepEqual(difference(afterUninstall, beforeRemoval), []);
	t.deepEqual(homeContents(root), keptHome);
	t.regex(readFileSync(join(root, 'etc/passwd'), 'utf8'), /^xi-exec-run:/m);

	// --purge: the home and the user go too, after saying what is lost; the root is as it was.
	const purge = await installInside(root, ['--agent', '--purge']);
	t.is(purge.code, 0, purge.stdout + purge.stderr);
	t.regex(purge.stdout, /Purging \/var\/lib\/xi-exec-agent \(\d+ files\): lost for good are this agent's keys and certificates \(its pairing: the agent must be paired again\), its audit log and its configuration\./);
	t.deepEqual(filesIn(root), [...pristine, 'usr/local/sbin/xi-whoami'].sort());
	t.notRegex(readFileSync(join(root, 'etc/passwd'), 'utf8'), /^xi-exec-run:/m);
	t.notRegex(readFileSync(join(root, 'etc/group'), 'utf8'), /^xi-exec-run:/m);
});

maybe('install.sh refuses, with what is missing, before changing anything', async t => {
	const {root} = await preparedRoot(fn => t.teardown(fn));
	copyRelease(release, root);
	const pristine = filesIn(root);
	const cases: Array<{args: string[]; prepare?: () => void; stderr: RegExp}> = [
		{args: [], stderr: /^install\.sh: say what to install: --agent or --controller/},
		{args: ['--agent', '--frobnicate'], stderr: /^install\.sh: unknown option --frobnicate; run sh install\.sh --help\.$/m},
		{args: ['--agent', '--name'], stderr: /^install\.sh: --name needs a value/},
		{args: ['--agent', '--listen', '127.0.0.1:7441'], stderr: /^install\.sh: a first install of the agent needs --name NAME and --listen HOST:PORT/},
		{args: ['--controller', '--tag', 'a=b'], stderr: /^install\.sh: --name, --advertise and --tag are for --agent/},
		{args: ['--agent', '--name', 'x', '--listen', '127.0.0.1:7441'], prepare: () => spawnSync('rm', ['-f', join(root, 'tmp/release/xi-exec-agent-linux-x64')]), stderr: /missing:\n {2}- xi-exec-agent-linux-x64 beside install\.sh/},
	];
	for (const {args, prepare, stderr} of cases) {
		prepare?.();
		const result = await installInside(root, args);
		t.is(result.code, 2, `${args.join(' ')}: ${result.stdout}${result.stderr}`);
		t.regex(result.stderr, stderr);
		t.deepEqual(filesIn(root), filesIn(root).length === pristine.length ? pristine : filesIn(root).filter(path => path !== 'tmp/release/xi-exec-agent-linux-x64'));
	}

	// A root without libstdc++: the exact package is named.
	spawnSync('sh', ['-c', `rm -f ${root}/usr/lib/x86_64-linux-gnu/libstdc++.so.6*`]);
	copyRelease(release, root);
	const noLibrary = await installInside(root, ['--agent', '--name', 'x', '--listen', '127.0.0.1:7441']);
	t.is(noLibrary.code, 2);
	t.regex(noLibrary.stderr, /missing:\n {2}- libstdc\+\+\.so\.6 \(Debian\/Ubuntu package libstdc\+\+6\)/);
	t.false(filesIn(root).includes('usr/local/bin/xi-exec-agent'));
});
