/**
 * Both systemd units under a real systemd: the Debian root (with systemd) gets a program by
 * install.sh under chroot, then boots with `systemd-nspawn --boot` (systemd as its PID 1, the
 * host's network; nspawn.ts). Driven from this host with nsenter into the container.
 * The agent (paired under chroot first): the unit is active after boot, a run from the host
 * succeeds, `systemctl restart` keeps the pairing, `systemctl stop` during a run leaves no process
 * of it behind, and the journal holds the agent's JSON lines.
 * The controller (a token made under chroot first): `xi-exec serve` is active as the unprivileged
 * user install.sh made, under the unit's sandbox; it answers /healthz and /openapi.json from the
 * host; `systemctl stop` ends it; its journal is JSON lines with a level and no token.
 * Each container is powered off at the end.
 */
import {request} from 'node:https';
import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import type {ExecutionContext} from 'ava';
import {freePort, temporaryDirectory} from '../helpers/fleet.js';
import {agentIn, controllerIn, copyRelease, installInside, installScriptAt} from './chroot.js';
import {debianRootMissing, missingFor, preparedRoot} from './debian-root.js';
import {gate} from './gate.js';
import {boot, waitFor, type Booted} from './nspawn.js';
import {pair, run, start, succeed, type Program} from './programs.js';
import {releaseDirectory} from './release.js';

const found = releaseDirectory();
const release = 'release' in found ? found.release : '';
// Serial: two containers booting at once on a small CI machine only slow each other down.
const test = gate('the agent and the controller under systemd-nspawn', [
	missingFor(['systemd-nspawn', 'nsenter', 'chroot', 'mount', 'runuser']),
	process.arch === 'x64' ? undefined : 'the test root is amd64 and this host is not',
	debianRootMissing(),
	'missing' in found ? found.missing : undefined,
], true);

function agentLines(machine: Booted): string[] {
	return machine.journal('xi-exec-agent');
}

async function listening(machine: Booted, times: number): Promise<void> {
	await waitFor(`listening #${times} in the journal`, () => (agentLines(machine).filter(line => line.includes('"event":"listening"')).length >= times ? true : undefined));
}

/** Processes of the user scripts run as (minbase has no procps: their /proc directories). */
function runProcesses(machine: Booted): string[] {
	return machine.inside(['find', '/proc', '-mindepth', '1', '-maxdepth', '1', '-regex', '/proc/[0-9]+', '-user', 'xi-exec-run']).stdout.split('\n').filter(Boolean);
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

	const machine = await boot(t, root);
	t.is(machine.inside(['systemctl', 'is-active', 'xi-exec-agent']).stdout.trim(), 'active');
	t.is(machine.inside(['systemctl', 'is-enabled', 'xi-exec-agent']).stdout.trim(), 'enabled');
	await listening(machine, 1);
	await runWhoami(t, controller);

	// A restart keeps the pairing: the same agent answers again.
	t.is(machine.inside(['systemctl', 'restart', 'xi-exec-agent']).status, 0);
	await listening(machine, 2);
	await runWhoami(t, controller);

	// Stop during a run: nothing of the run is left.
	const long = start(controller, ['run', 'sleepy', '--on', 'nsp1', '--json']);
	await waitFor('the script to run', () => (runProcesses(machine).length > 0 ? true : undefined));
	t.is(machine.inside(['systemctl', 'stop', 'xi-exec-agent']).status, 0);
	t.is(machine.inside(['systemctl', 'is-active', 'xi-exec-agent']).stdout.trim(), 'inactive');
	t.deepEqual(runProcesses(machine), [], 'no process of the run is left');
	const ended = await long.exit;
	t.not(ended.code, 0);

	// The journal: the agent's own lines are JSON, one event each.
	const lines = agentLines(machine);
	t.true(lines.length >= 4);
	const events = lines.map(line => JSON.parse(line) as {ts: string; event: string});
	t.true(events.every(event => typeof event.ts === 'string' && typeof event.event === 'string'));
	t.deepEqual(events.filter(event => event.event === 'listening' || event.event === 'stopping').map(event => event.event), ['listening', 'stopping', 'listening', 'stopping']);

	const off = await machine.poweroff();
	t.is(off.code, 0, off.output);
});

/** One HTTPS request from this host to the booted controller, trusting only its fleet CA. */
function fetchFrom(port: number, ca: string, path: string, token?: string): Promise<{status: number; text: string}> {
	return new Promise((resolve, reject) => {
		const sent = request({host: '127.0.0.1', port, path, ca: [ca], agent: false, headers: token ? {authorization: `Bearer ${token}`} : {}}, response => {
			let text = '';
			response.setEncoding('utf8');
			response.on('data', (chunk: string) => (text += chunk));
			response.on('end', () => resolve({status: response.statusCode ?? 0, text}));
		});
		sent.on('error', reject);
		sent.end();
	});
}

test('the controller booted under systemd: serve runs as its own user, answers from the host, logs JSON lines, stops on SIGTERM', async t => {
	const {root, unmountProc} = await preparedRoot(fn => t.teardown(fn));
	copyRelease(release, root, 'xi-exec');
	const port = freePort();
	const installed = await installInside(root, ['--controller', '--listen', `127.0.0.1:${port}`]);
	t.is(installed.code, 0, installed.stdout + installed.stderr);
	const {token} = JSON.parse(await succeed(controllerIn(root), ['token', 'create', '--name', 'ops', '--scripts', '*', '--on', 'all', '--json'])) as {token: string};
	const ca = readFileSync(join(root, 'var/lib/xi-exec/ca.pem'), 'utf8');
	unmountProc();

	const machine = await boot(t, root);
	t.is(machine.inside(['systemctl', 'is-enabled', 'xi-exec']).stdout.trim(), 'enabled');
	await waitFor('serve to listen', () => (machine.journal('xi-exec').some(line => line.includes('"event":"listening"')) ? true : undefined));
	t.is(machine.inside(['systemctl', 'is-active', 'xi-exec']).stdout.trim(), 'active');
	// Its own unprivileged user, as the unit says.
	const mainPid = machine.inside(['systemctl', 'show', '--value', '-p', 'MainPID', 'xi-exec']).stdout.trim();
	const uid = machine.inside(['id', '-u', 'xi-exec']).stdout.trim();
	t.regex(machine.inside(['cat', `/proc/${mainPid}/status`]).stdout, new RegExp(`^Uid:\\t${uid}\\t${uid}\\t`, 'm'));
	t.not(uid, '0');

	const health = await fetchFrom(port, ca, '/healthz');
	t.deepEqual({status: health.status, body: JSON.parse(health.text) as unknown}, {status: 200, body: {status: 'ok'}});
	const document = await fetchFrom(port, ca, '/openapi.json', token);
	t.is(document.status, 200, document.text);
	t.is((JSON.parse(document.text) as {openapi: string}).openapi, '3.1.0');
	t.is((await fetchFrom(port, ca, '/v1/agents')).status, 401);

	t.is(machine.inside(['systemctl', 'stop', 'xi-exec']).status, 0);
	t.is(machine.inside(['systemctl', 'is-active', 'xi-exec']).stdout.trim(), 'inactive');
	// The journal: every line serve wrote is one JSON object with a level; no token in any.
	const lines = machine.journal('xi-exec').map(line => JSON.parse(line) as {level: string; event: string; route?: string; status?: number; caller?: string});
	t.true(lines.every(line => ['info', 'warn', 'error'].includes(line.level)), JSON.stringify(lines));
	t.deepEqual(lines.map(line => line.event), ['listening', 'request', 'request', 'request', 'stopping', 'stopped']);
	t.like(lines[2], {event: 'request', route: '/openapi.json', status: 200, caller: 'token:ops'});
	t.like(lines[3], {event: 'request', route: '/v1/agents', status: 401, level: 'warn'});
	t.like(lines[4], {signal: 'SIGTERM'});
	t.false(machine.journal('xi-exec').some(line => line.includes(token)));

	const off = await machine.poweroff();
	t.is(off.code, 0, off.output);
});
