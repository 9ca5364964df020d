/**
 * The reference Compose deployment under podman-compose, built from the release on a base image
 * made by `podman import` of the Debian root (no image registry is reachable): up, pair per
 * compose.yaml's header, run; down (volumes kept); up --build: still paired, and `audit verify
 * --cross` passes over both sides' logs; down -v removes the volumes and the network. Podman gets a
 * configuration of the test's own (runc, cgroupfs, explicit ulimits, netavark for the service
 * names), with its storage, volumes and network definitions under the test's directory.
 */
import {execFileSync, spawnSync} from 'node:child_process';
import {copyFileSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {freePort, temporaryDirectory} from '../helpers/fleet.js';
import {debianRootCache, debianRootMissing, missingFor, mountsUnder} from './debian-root.js';
import {gate} from './gate.js';
import ava, {type ExecutionContext} from 'ava';
import {pair, run, succeed, type Program} from './programs.js';
import {releaseDirectory} from './release.js';

const found = releaseDirectory();
const release = 'release' in found ? found.release : '';
// Serial steps of one deployment (each well within ava's wait for a test; together they are not).
const reasons = [
	missingFor(['podman', 'podman-compose', 'runc', 'tar']),
	spawnSync('sh', ['-c', 'test -x /usr/lib/podman/netavark && test -x /usr/lib/podman/aardvark-dns']).status === 0 ? undefined : 'netavark and aardvark-dns are not installed (the services find each other by name through them; .ci/run installs them)',
	process.arch === 'x64' ? undefined : 'the base image is amd64 and this host is not',
	debianRootMissing(),
	'missing' in found ? found.missing : undefined,
];
const test = gate('the Compose reference under podman-compose', reasons, true);
const ready = !reasons.some(Boolean);

function podmanEnvironment(directory: string): Record<string, string> {
	const conf = join(directory, 'containers.conf');
	// Explicit limits, no higher than this process's own hard limit (runc cannot raise it).
	const nofile = Math.min(65_536, Number(spawnSync('sh', ['-c', 'ulimit -Hn'], {encoding: 'utf8'}).stdout.trim()) || 1024);
	writeFileSync(conf, `[containers]
default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=8192:8192"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "${directory}/events.log"
tmp_dir = "${directory}/tmp"
volume_path = "${directory}/storage/volumes"
static_dir = "${directory}/storage/libpod"

[network]
network_backend = "netavark"
network_config_dir = "${directory}/networks"
`);
	writeFileSync(join(directory, 'storage.conf'), `[storage]
driver = "overlay"
graphroot = "${directory}/storage"
runroot = "${directory}/run"
`);
	writeFileSync(join(directory, 'registries.conf'), 'unqualified-search-registries = []\n');
	return {CONTAINERS_CONF: conf, CONTAINERS_STORAGE_CONF: join(directory, 'storage.conf'), CONTAINERS_REGISTRIES_CONF: join(directory, 'registries.conf')};
}

/** The release files the images are built from, linked (or copied) into the project directory. */
function project(directory: string): string {
	const target = join(directory, 'project');
	mkdirSync(target);
	mkdirSync(join(target, 'services'));
	for (const file of ['compose.yaml', 'Dockerfile', '.dockerignore', 'docker-entrypoint.sh', 'xi-exec-linux-x64', 'xi-exec-agent-linux-x64', 'services/openssl-agent.cnf']) {
		try {
			linkSync(join(release, file), join(target, file));
		} catch {
			copyFileSync(join(release, file), join(target, file));
		}
	}

	return target;
}

async function waitFor(what: string, check: () => boolean, attempts = 1200): Promise<void> {
	for (let attempt = 0; attempt < attempts; attempt++) {
		if (check()) {
			return;
		}

		await new Promise(resolve => setTimeout(resolve, 100));
	}

	throw new Error(`gave up waiting for ${what}`);
}

const directory = ready ? temporaryDirectory('xi-exec-compose-') : '';
const environment = {...(ready ? podmanEnvironment(directory) : {}), BASE_IMAGE: 'localhost/xi-exec-test-base:bookworm', XI_EXEC_API_PORT: String(freePort())};
const env = {...process.env, ...environment};
const name = `xiexec${process.pid}`;
const projectDirectory = ready ? project(directory) : '';
const container = (service: string) => `${name}_${service}_1`;
const controller: Program = {command: 'podman', prefix: ['exec', '-i', container('controller'), 'xi-exec'], env: environment};
const agent: Program = {command: 'podman', prefix: ['exec', '-i', container('agent1'), 'xi-exec-agent'], env: environment};

function compose(...args: string[]): string {
	const result = spawnSync('podman-compose', ['-p', name, '-f', join(projectDirectory, 'compose.yaml'), ...args], {cwd: projectDirectory, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024});
	if (result.status !== 0) {
		throw new Error(`podman-compose ${args.join(' ')} exited with ${result.status}:\n${result.stdout}${result.stderr}`);
	}

	return result.stdout;
}

function podman(...args: string[]) {
	return spawnSync('podman', args, {env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024});
}

function logs(service: string): string {
	const result = podman('logs', container(service));
	return `${result.stdout}${result.stderr}`;
}

function volumes(): string[] {
	return podman('volume', 'ls', '--format', '{{.Name}}').stdout.trim().split('\n').filter(Boolean).sort();
}

async function runId(t: ExecutionContext): Promise<void> {
	const ran = await run(controller, ['run', 'id', '--on', 'agent1', '--json', '--', '-un']);
	t.is(ran.code, 0, ran.stdout + ran.stderr);
	t.like((JSON.parse(ran.stdout) as {results: unknown[]}).results[0], {agent: 'agent1', status: 'ok', exitCode: 0, stdout: 'xi-exec-run\n'});
}

// The file's own hook, not the gate's: a skipped gate (test.skip) has no hooks.
ava.after.always(() => {
	if (!projectDirectory) {
		return;
	}

	spawnSync('podman-compose', ['-p', name, '-f', join(projectDirectory, 'compose.yaml'), 'down', '-v'], {cwd: projectDirectory, env, stdio: 'ignore'});
	podman('system', 'reset', '--force');
	for (const point of mountsUnder(directory)) {
		spawnSync('umount', ['-l', point]);
	}

	if (mountsUnder(directory).length === 0) {
		rmSync(directory, {recursive: true, force: true});
	}
});

test('the base image is the Debian root, imported (no registry is reached)', t => {
	execFileSync('sh', ['-c', `tar -C '${debianRootCache()}' --exclude=./.xi-exec-complete -cf - . | podman import - ${environment.BASE_IMAGE}`], {env, stdio: ['ignore', 'ignore', 'pipe']});
	t.is(podman('image', 'exists', environment.BASE_IMAGE).status, 0);
});

test('up builds both images on it and starts them; pairing as compose.yaml says; a run', async t => {
	compose('up', '-d');
	t.deepEqual(podman('ps', '--format', '{{.Names}}').stdout.trim().split('\n').sort(), [container('agent1'), container('agent2'), container('controller')]);
	await waitFor('the controller to listen', () => logs('controller').includes('Listening on https://'));
	await waitFor('agent1 to wait for its pairing', () => logs('agent1').includes('agent1 is not paired yet'));
	const paired = await pair(controller, agent, 'agent1', {listen: '0.0.0.0:7400', dial: 'controller:7400'});
	t.like(paired.controller, {agent: 'agent1', address: 'agent1:7441', tags: {env: 'compose', role: 'web'}});
	await waitFor('agent1 to start', () => logs('agent1').includes('"event":"listening"'));
	await succeed(agent, ['allow', 'id', '/usr/bin/id', '--run-as', 'xi-exec-run', '--description', 'who runs scripts']);
	await runId(t);
	// The agent's process runs with the release's OpenSSL configuration (no TLS session tickets:
	// single-executable.test.ts counts them with and without it).
	const conf = '/etc/xi-exec-agent.openssl.cnf';
	const agentProcess = podman('exec', container('agent1'), 'sh', '-c', 'for p in /proc/[0-9]*; do [ "$(readlink "$p/exe")" = /usr/local/bin/xi-exec-agent ] && tr "\\0" "\\n" < "$p/environ"; done; cat ' + conf);
	t.is(agentProcess.status, 0, agentProcess.stderr);
	t.regex(agentProcess.stdout, new RegExp(`^OPENSSL_CONF=${conf.replaceAll('.', '\\.')}$`, 'm'));
	t.true(agentProcess.stdout.endsWith(readFileSync(join(release, 'services', 'openssl-agent.cnf'), 'utf8')));
});

test('down keeps the named volumes; up --build makes new containers on them, still paired', async t => {
	compose('down');
	t.deepEqual(volumes(), [`${name}_agent1-home`, `${name}_agent2-home`, `${name}_controller-home`]);
	t.is(podman('ps', '-a', '--format', '{{.Names}}').stdout.trim(), '');
	compose('up', '-d', '--build');
	await waitFor('agent1 to start again, paired', () => logs('agent1').includes('"event":"listening"'));
	await waitFor('the controller to listen again', () => logs('controller').includes('Listening on https://'));
	await runId(t);
});

test('both audit logs, read from their volumes, are intact and agree (audit verify --cross)', async t => {
	const mountpoint = (volume: string) => podman('volume', 'inspect', `${name}_${volume}`, '--format', '{{.Mountpoint}}').stdout.trim();
	t.regex(await succeed(agent, ['audit', 'verify']), /^ok: \d+ records, chain intact/m);
	const cross = await run({command: join(release, 'xi-exec-linux-x64'), env: {XI_EXEC_HOME: mountpoint('controller-home')}}, ['audit', 'verify', '--cross', join(mountpoint('agent1-home'), 'audit', 'agent.jsonl')]);
	t.is(cross.code, 0, cross.stdout + cross.stderr);
	t.regex(cross.stdout, /^ok: \d+ records, chain intact/m);
	t.regex(cross.stdout, /^cross: ok, 1 agent log agree with the controller$/m);
	t.notRegex(cross.stdout, /^broken/m);
});

test('down -v removes the containers and the volumes; the network goes too', t => {
	compose('down', '-v');
	t.deepEqual(volumes(), []);
	t.is(podman('ps', '-a', '--format', '{{.Names}}').stdout.trim(), '');
	// podman-compose 1.0.3 (Debian 12) leaves the project's network behind on down, where docker compose removes it.
	if (podman('network', 'exists', `${name}_default`).status === 0) {
		t.is(podman('network', 'rm', `${name}_default`).status, 0);
	}

	t.is(podman('network', 'exists', `${name}_default`).status, 1);
});
