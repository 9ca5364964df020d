/**
 * The agent's systemd unit under a real systemd: the Debian root (with systemd) gets the agent by
 * install.sh and its pairing under chroot, then boots with `systemd-nspawn --boot` (systemd as its
 * PID 1, the host's network). Driven from this host with nsenter into the container: the unit is
 * active after boot, a run from the host succeeds, `systemctl restart` keeps the pairing,
 * `systemctl stop` during a run leaves no process of it behind, and the journal holds the agent's
 * JSON lines. The container is powered off at the end.
 */
import {spawn, spawnSync} from 'node:child_process';
import {join} from 'node:path';
import type {ExecutionContext} from 'ava';
import {freePort, temporaryDirectory} from '../helpers/fleet.js';
import {agentIn, copyRelease, installInside, installScriptAt} from './chroot.js';
import {debianRootMissing, missingFor, preparedRoot} from './debian-root.js';
import {gate} from './gate.js';
import {pair, run, start, succeed, type Program} from './programs.js';
import {releaseDirectory} from './release.js';

const found = releaseDirectory();
const release = 'release' in found ? found.release : '';
const test = gate('the agent under systemd-nspawn', [
	missingFor(['systemd-nspawn', 'nsenter', 'chroot', 'mount']),
	process.arch === 'x64' ? undefined : 'the test root is amd64 and this host is not',
	debianRootMissing(),
	'missing' in found ? found.missing : undefined,
]);

async function waitFor<T>(what: string, check: () => T | undefined, attempts = 600): Promise<T> {
	for (let attempt = 0; attempt < attempts; attempt++) {
		const value = check();
		if (value !== undefined) {
			return value;
		}

		await new Promise(resolve => setTimeout(resolve, 100));
	}

	throw new Error(`gave up waiting for ${what}`);
}

/** A command inside the booted container (its mount, PID, IPC and UTS namespaces). */
function inside(pid: number, command: string[]) {
	return spawnSync('nsenter', ['--target', String(pid), '--mount', '--uts', '--ipc', '--pid', '--', ...command], {encoding: 'utf8'});
}

function agentLines(pid: number): string[] {
	return inside(pid, ['journalctl', '--no-pager', '-o', 'cat', 'SYSLOG_IDENTIFIER=xi-exec-agent']).stdout.split('\n').filter(Boolean);
}

async function listening(pid: number, times: number): Promise<void> {
	await waitFor(`listening #${times} in the journal`, () => (agentLines(pid).filter(line => line.includes('"event":"listening"')).length >= times ? true : undefined));
}

/** Processes of the user scripts run as (minbase has no procps: their /proc directories). */
function runProcesses(pid: number): string[] {
	return inside(pid, ['find', '/proc', '-mindepth', '1', '-maxdepth', '1', '-regex', '/proc/[0-9]+', '-user', 'xi-exec-run']).stdout.split('\n').filter(Boolean);
}

async function runWhoami(t: ExecutionContext, controller: Program): Promise<void> {
	const ran = await run(controller, ['run', 'whoami', '--on', 'nsp1', '--json']);
	t.is(ran.code, 0, ran.stdout + ran.stderr);
	t.like((JSON.parse(ran.stdout) as {results: unknown[]}).results[0], {agent: 'nsp1', status: 'ok', stdout: 'xi-exec-run\n'});
}

test('booted under systemd: active, runs for the host, keeps its pairing over a restart, stops leaving no run behind, logs JSON lines', async t => {
	const {root, unmountProc} = await preparedRoot(fn => t.teardown(fn));
	copyRelease(release, root);
	const port = freePort();
	const installed = await installInside(root, ['--agent', '--name', 'nsp1', '--listen', `127.0.0.1:${port}`, '--tag', 'boot=nspawn']);
	t.is(installed.code, 0, installed.stdout + installed.stderr);
	installScriptAt(root, 'usr/local/sbin/xi-whoami', '#!/bin/sh\nid -un\n');
	installScriptAt(root, 'usr/local/sbin/xi-sleepy', '#!/bin/sh\necho started\nexec sleep 600\n');
	await succeed(agentIn(root), ['allow', 'whoami', '/usr/local/sbin/xi-whoami', '--run-as', 'xi-exec-run']);
	await succeed(agentIn(root), ['allow', 'sleepy', '/usr/local/sbin/xi-sleepy', '--run-as', 'xi-exec-run']);
	const controller: Program = {command: join(release, 'xi-exec-linux-x64'), env: {XI_EXEC_HOME: join(temporaryDirectory('xi-exec-nspawn-'), 'controller')}};
	await succeed(controller, ['init']);
	await pair(controller, agentIn(root), 'nsp1');
	unmountProc();

	// Boot. The container's systemd is nspawn's child.
	const nspawn = spawn('systemd-nspawn', ['--quiet', '-D', root, '--boot', '--register=no', '--keep-unit', '--console=pipe'], {stdio: ['ignore', 'pipe', 'pipe']});
	let output = '';
	nspawn.stdout.on('data', (chunk: Buffer) => {
		output += chunk.toString();
	});
	nspawn.stderr.on('data', (chunk: Buffer) => {
		output += chunk.toString();
	});
	const exited = new Promise<number | null>(resolve => nspawn.once('exit', code => resolve(code)));
	t.teardown(async () => {
		if (nspawn.exitCode === null && nspawn.signalCode === null) {
			nspawn.kill('SIGTERM'); // nspawn asks the container's systemd to power off.
			const stopped = await Promise.race([exited.then(() => true), new Promise(resolve => setTimeout(() => resolve(false), 30_000))]);
			if (!stopped) {
				nspawn.kill('SIGKILL');
			}
		}
	});
	const pid = await waitFor('the container\'s systemd', () => {
		const child = spawnSync('pgrep', ['-P', String(nspawn.pid)], {encoding: 'utf8'}).stdout.trim();
		return child && inside(Number(child), ['systemctl', 'is-system-running']).stdout.trim().match(/^(running|degraded)$/) ? Number(child) : undefined;
	});

	t.is(inside(pid, ['systemctl', 'is-active', 'xi-exec-agent']).stdout.trim(), 'active');
	t.is(inside(pid, ['systemctl', 'is-enabled', 'xi-exec-agent']).stdout.trim(), 'enabled');
	await listening(pid, 1);
	await runWhoami(t, controller);

	// A restart keeps the pairing: the same agent answers again.
	t.is(inside(pid, ['systemctl', 'restart', 'xi-exec-agent']).status, 0);
	await listening(pid, 2);
	await runWhoami(t, controller);

	// Stop during a run: nothing of the run is left.
	const long = start(controller, ['run', 'sleepy', '--on', 'nsp1', '--json']);
	await waitFor('the script to run', () => (runProcesses(pid).length > 0 ? true : undefined));
	t.is(inside(pid, ['systemctl', 'stop', 'xi-exec-agent']).status, 0);
	t.is(inside(pid, ['systemctl', 'is-active', 'xi-exec-agent']).stdout.trim(), 'inactive');
	t.deepEqual(runProcesses(pid), [], 'no process of the run is left');
	const ended = await long.exit;
	t.not(ended.code, 0);

	// The journal: the agent's own lines are JSON, one event each.
	const lines = agentLines(pid);
	t.true(lines.length >= 4);
	const events = lines.map(line => JSON.parse(line) as {ts: string; event: string});
	t.true(events.every(event => typeof event.ts === 'string' && typeof event.event === 'string'));
	t.deepEqual(events.filter(event => event.event === 'listening' || event.event === 'stopping').map(event => event.event), ['listening', 'stopping', 'listening', 'stopping']);

	// Power off.
	inside(pid, ['systemctl', 'poweroff']);
	t.is(await exited, 0, output);
});
