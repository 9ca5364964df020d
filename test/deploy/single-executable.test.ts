/**
 * The release of `npm run dist`: SHA256SUMS verifies (sha256sum), the single executables need only
 * the C library and libstdc++ (ldd), print package.json's version, handle their argv (a single
 * executable's process.argv holds the executable twice), and do the whole job between themselves
 * over real TLS: init, pair, start, run, audit verify. The JS bundles run on this Node, and the
 * console's lazily imported Ink renders from the bundle (in tmux). The release's reference policy
 * hook, run by this host's Node, allows and denies for the single-executable agent, and that agent's
 * writer probe (an eval'd worker, probe-thread.ts) runs a Python script and refuses it held open for writing.
 */
import {execFileSync, spawn, spawnSync} from 'node:child_process';
import {closeSync, openSync, readSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {agentCli, controllerCredentials, freePort, installFixture, installScript, rawExchange, requestLine, temporaryDirectory} from '../helpers/fleet.js';
import {pair, run, start, succeed, type Program} from './programs.js';
import {gate} from './gate.js';
import {releaseDirectory, version} from './release.js';

const hostArch = process.arch === 'arm64' ? 'arm64' : 'x64';
const libraries = /^(linux-vdso|libc|libm|libdl|libpthread|libstdc\+\+|libgcc_s|ld-linux[-\w]*)\.so/;

function executable(release: string, name: string, env: Record<string, string> = {}): Program {
	return {command: join(release, `${name}-linux-${hostArch}`), env};
}

const found = releaseDirectory();
const release = 'release' in found ? found.release : '';
const test = gate('the release', ['missing' in found ? found.missing : undefined]);

/** The release's controller and agent, each initialised in a home of its own under a new directory; the agent `name` listens on a free port of 127.0.0.1 (not paired). */
async function initialised(prefix: string, name: string) {
	const directory = temporaryDirectory(prefix);
	const controllerHome = join(directory, 'controller');
	const agentHome = join(directory, 'agent');
	const controller = executable(release, 'xi-exec', {XI_EXEC_HOME: controllerHome});
	const agent = executable(release, 'xi-exec-agent', {XI_EXEC_AGENT_HOME: agentHome});
	await succeed(controller, ['init']);
	const port = freePort();
	await succeed(agent, ['init', '--name', name, '--listen', `127.0.0.1:${port}`]);
	return {directory, controllerHome, agentHome, controller, agent, port};
}

test('SHA256SUMS covers every file of the release and sha256sum -c verifies it', async t => {
	const listed = readFileSync(join(release, 'SHA256SUMS'), 'utf8').trim().split('\n').map(line => line.split('  ')[1]);
	t.deepEqual(listed.filter(file => !file!.startsWith('services/')), [
		'.dockerignore', 'Dockerfile', 'README', 'compose.yaml', 'docker-entrypoint.sh', 'hooks/local-policy.mjs', 'install.sh',
		'xi-exec-agent-linux-arm64', 'xi-exec-agent-linux-x64', 'xi-exec-agent.cjs',
		'xi-exec-linux-arm64', 'xi-exec-linux-x64', 'xi-exec.cjs',
	]);
	t.deepEqual(listed.filter(file => file!.startsWith('services/')), [
		'services/openrc/xi-exec', 'services/openrc/xi-exec-agent',
		'services/openssl-agent.cnf',
		'services/procd/xi-exec', 'services/procd/xi-exec-agent',
		'services/systemd/xi-exec-agent.service', 'services/systemd/xi-exec.service',
	]);
	const check = spawnSync('sha256sum', ['--check', '--strict', 'SHA256SUMS'], {cwd: release, encoding: 'utf8'});
	t.is(check.status, 0, check.stdout + check.stderr);
	t.is(check.stdout.trim().split('\n').filter(line => line.endsWith(': OK')).length, listed.length);
});

test('the single executables need nothing but the C library and libstdc++ (ldd), and print package.json\'s version', async t => {
	for (const name of ['xi-exec', 'xi-exec-agent']) {
		const program = executable(release, name);
		const linked = execFileSync('ldd', [program.command], {encoding: 'utf8'}).trim().split('\n').map(line => line.trim().split(/\s/)[0]!.replace(/^\/.*\//, ''));
		t.true(linked.length > 3);
		t.deepEqual(linked.filter(library => !libraries.test(library)), [], `${name} links ${linked.join(', ')}`);
		t.is((await succeed(program, ['--version'])).trim(), version);
		// The JS bundle, on this machine's Node, says the same.
		t.is((await succeed({command: process.execPath, prefix: [join(release, `${name}.cjs`)]}, ['--version'])).trim(), version);
	}
});

test('the arm64 executables are aarch64 ELF files carrying the same program', async t => {
	for (const name of ['xi-exec', 'xi-exec-agent']) {
		const header = Buffer.alloc(20);
		const fd = openSync(join(release, `${name}-linux-arm64`), 'r');
		readSync(fd, header, 0, 20, 0);
		closeSync(fd);
		t.is(header.subarray(0, 4).toString('latin1'), '\x7fELF');
		t.is(header.readUInt16LE(18), 183, 'e_machine is EM_AARCH64');
		// The blob holds the bundle's source text (without a code cache, as it was built on another CPU).
		const bundle = readFileSync(join(release, `${name}.cjs`));
		const slice = bundle.subarray(bundle.length >> 1, (bundle.length >> 1) + 256);
		t.true(readFileSync(join(release, `${name}-linux-arm64`)).includes(slice), `${name}-linux-arm64 holds ${name}.cjs`);
	}
});

test('argv: the first word after the executable is the command, and `--` passes the rest to the script literally', async t => {
	const agent = executable(release, 'xi-exec-agent');
	const noCommand = await run(agent, []);
	t.is(noCommand.code, 2);
	t.regex(noCommand.stdout, /^Usage$/m);
	const unknown = await run(agent, ['frobnicate']);
	t.is(unknown.code, 2);
	t.regex(unknown.stderr, /^xi-exec-agent: unknown command "frobnicate"; run xi-exec-agent --help\./);
	// Word for word what the same program says on node from dist/.
	t.is(unknown.stderr, (await run({command: process.execPath, prefix: [agentCli]}, ['frobnicate'])).stderr);
	const controller = await run(executable(release, 'xi-exec'), ['init', '--frobnicate']);
	t.is(controller.code, 2);
	t.regex(controller.stderr, /frobnicate/);
});

test('init, pair, start, run over real TLS and audit verify, between the two single executables', async t => {
	const directory = temporaryDirectory('xi-exec-sea-');
	const controller = executable(release, 'xi-exec', {XI_EXEC_HOME: join(directory, 'controller')});
	const agent = executable(release, 'xi-exec-agent', {XI_EXEC_AGENT_HOME: join(directory, 'agent')});
	t.regex(await succeed(controller, ['init']), /^Fleet CA created in /);
	const port = freePort();
	await succeed(agent, ['init', '--name', 'sea1', '--listen', `127.0.0.1:${port}`, '--tag', 'built=sea']);
	await succeed(agent, ['allow', 'echo-args', installFixture('echo-args.sh'), '--description', 'prints its argv']);

	const paired = await pair(controller, agent, 'sea1');
	t.like(paired.controller, {event: 'paired', agent: 'sea1', address: `127.0.0.1:${port}`, tags: {built: 'sea'}});
	t.like(paired.agent, {event: 'paired', agent: 'sea1'});

	const daemon = start(agent, ['start']);
	t.teardown(async () => daemon.stop('SIGKILL'));
	t.like(await daemon.event('listening'), {agent: 'sea1', address: `127.0.0.1:${port}`, scripts: 1});

	const ran = await run(controller, ['run', 'echo-args', '--on', 'sea1', '--json', '--', '--version', 'a b', '$(touch /tmp/x)']);
	t.is(ran.code, 0, ran.stderr);
	const document = JSON.parse(ran.stdout) as {results: Array<Record<string, unknown>>};
	t.like(document.results[0], {agent: 'sea1', status: 'ok', exitCode: 0, stdout: '[--version]\n[a b]\n[$(touch /tmp/x)]\n'});

	const stopped = await daemon.stop('SIGTERM');
	t.is(stopped.code, 0, stopped.stderr);
	t.true(daemon.lines.some(line => line.includes('"event":"stopping"')));

	t.regex(await succeed(controller, ['audit', 'verify']), /^ok: \d+ records, chain intact/);
	t.regex(await succeed(agent, ['audit', 'verify']), /^ok: \d+ records, chain intact/);
	const cross = await run(controller, ['audit', 'verify', '--cross', join(directory, 'agent', 'audit', 'agent.jsonl')]);
	t.is(cross.code, 0, cross.stdout + cross.stderr);
});

test('the single-executable agent probes a Python script for writers on its probe thread: it runs; held open for writing by another process, it is refused (ETXTBSY) and audited', async t => {
	const {controller, agent, agentHome} = await initialised('xi-exec-probe-', 'probe1');
	// Python reads its script from the file after the start (no private copy): the run needs the writer probe.
	const script = installScript('py', '#!/usr/bin/python3\nimport sys\nprint("python ran", *sys.argv[1:])\n');
	await succeed(agent, ['allow', 'py', script, '--description', 'prints its argv']);
	await pair(controller, agent, 'probe1');
	const daemon = start(agent, ['start']);
	t.teardown(async () => daemon.stop('SIGKILL'));
	await daemon.event('listening');

	const ran = await run(controller, ['run', 'py', '--on', 'probe1', '--json', '--', 'a b']);
	t.is(ran.code, 0, ran.stdout + ran.stderr);
	t.like((JSON.parse(ran.stdout) as {results: unknown[]}).results[0], {agent: 'probe1', status: 'ok', exitCode: 0, stdout: 'python ran a b\n'});

	// Another process holds the script open for writing (and says so before the run is asked).
	const writer = spawn('sh', ['-c', 'exec 9>>"$0" && echo held && exec sleep 600', script], {stdio: ['ignore', 'pipe', 'inherit']});
	t.teardown(() => writer.kill('SIGKILL'));
	await new Promise(resolve => {
		writer.stdout.once('data', resolve);
	});
	const refused = await run(controller, ['run', 'py', '--on', 'probe1', '--json', '--', 'c']);
	t.not(refused.code, 0);
	const reason = `script py is refused: ${script} is open for writing by another process (ETXTBSY), and its interpreter reads it only after the start, so what runs could differ from what was checked; close it (fuser -v ${script} names the process), then run again`;
	t.like((JSON.parse(refused.stdout) as {results: unknown[]}).results[0], {agent: 'probe1', status: 'denied', reason});
	t.is((await daemon.stop('SIGTERM')).code, 0);
	const audit = readFileSync(join(agentHome, 'audit', 'agent.jsonl'), 'utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>);
	t.like(audit.filter(record => record['event'] === 'run.refused').at(-1), {event: 'run.refused', script: 'py', status: 'denied', reason});
	t.false(daemon.lines.some(line => line.includes('probe thread')), daemon.lines.join('\n'));
});

test('the release\'s reference policy hook (hooks/local-policy.mjs, on this host\'s Node) decides for the single-executable agent', async t => {
	const {controller, agent, agentHome} = await initialised('xi-exec-hook-', 'hook1');
	await succeed(agent, ['allow', 'echo-args', installFixture('echo-args.sh'), '--description', 'prints its argv']);
	await pair(controller, agent, 'hook1');
	// As the release README says: the hook's path and the Node that runs it, in config.json; the policy beside it.
	const config = join(agentHome, 'config.json');
	writeFileSync(config, JSON.stringify({...JSON.parse(readFileSync(config, 'utf8')) as object, hook: join(release, 'hooks', 'local-policy.mjs'), hookInterpreter: process.execPath}));
	writeFileSync(join(agentHome, 'policy.json'), JSON.stringify({rules: [
		{name: 'never force', effect: 'deny', callers: ['*'], scripts: ['*'], args: {forbid: ['--force']}},
		{name: 'operators', effect: 'allow', callers: ['*'], scripts: ['echo-args']},
	]}), {mode: 0o600});
	const daemon = start(agent, ['start']);
	t.teardown(async () => daemon.stop('SIGKILL'));
	await daemon.event('listening');
	t.false(daemon.lines.some(line => line.includes('"event":"hook.unusable"')), daemon.lines.join('\n'));

	const allowed = await run(controller, ['run', 'echo-args', '--on', 'hook1', '--json', '--', 'a']);
	t.is(allowed.code, 0, allowed.stdout + allowed.stderr);
	t.like((JSON.parse(allowed.stdout) as {results: unknown[]}).results[0], {status: 'ok', stdout: '[a]\n'});
	const denied = await run(controller, ['run', 'echo-args', '--on', 'hook1', '--json', '--', '--force']);
	t.not(denied.code, 0);
	t.like((JSON.parse(denied.stdout) as {results: unknown[]}).results[0], {status: 'denied', reason: 'denied by rule "never force": "--force" (forbidden: --force)'});
	t.is((await daemon.stop('SIGTERM')).code, 0);
});

test('with the OpenSSL configuration its services name (services/openssl-agent.cnf), the single-executable agent sends no TLS session ticket; without it, OpenSSL\'s two', async t => {
	const {directory, controllerHome, controller, agent, port} = await initialised('xi-exec-tickets-', 'tix1');
	await pair(controller, agent, 'tix1');
	const tickets = async (env: Record<string, string>) => {
		const daemon = start({...agent, env: {...agent.env, ...env}}, ['start']);
		try {
			await daemon.event('listening');
			const reply = await rawExchange(port, {...controllerCredentials(controllerHome), send: [requestLine({type: 'describe'})]});
			t.is(reply.protocol, 'TLSv1.3');
			t.truthy(reply.frames.find(frame => frame['type'] === 'description'), JSON.stringify(reply.frames).slice(0, 300));
			return reply.sessions.length;
		} finally {
			t.is((await daemon.stop('SIGTERM')).code, 0);
		}
	};

	t.is(await tickets({OPENSSL_CONF: join(release, 'services', 'openssl-agent.cnf')}), 0);
	// The control: the same agent without it (the check can fail).
	t.is(await tickets({OPENSSL_CONF: join(directory, 'none.cnf')}), 2);
});

test('the console (Ink and React, imported lazily) renders from the JS bundle', async t => {
	if (spawnSync('sh', ['-c', 'command -v tmux']).status !== 0) {
		t.log('skipped: tmux is not installed (.ci/run installs it)');
		t.pass();
		return;
	}

	const home = join(temporaryDirectory('xi-exec-console-'), 'controller');
	await succeed({command: process.execPath, prefix: [join(release, 'xi-exec.cjs')]}, ['init', '--home', home]);
	const socket = `xi-exec-sea-${process.pid}`;
	const environment: NodeJS.ProcessEnv = {...process.env, XI_EXEC_HOME: home};
	delete environment['CI']; // Ink writes only its last frame under CI.
	execFileSync('tmux', ['-L', socket, 'new-session', '-d', '-x', '100', '-y', '30', `${process.execPath} ${join(release, 'xi-exec.cjs')} --pair-listen 127.0.0.1:0`], {env: environment});
	t.teardown(() => spawnSync('tmux', ['-L', socket, 'kill-server']));
	let screen = '';
	for (let attempt = 0; attempt < 300 && !screen.includes('No agents are paired yet'); attempt++) {
		await new Promise(resolve => setTimeout(resolve, 100));
		screen = spawnSync('tmux', ['-L', socket, 'capture-pane', '-p'], {encoding: 'utf8'}).stdout ?? '';
	}

	t.regex(screen, /NAME\s+ADDRESS\s+STATUS/);
	t.regex(screen, /No agents are paired yet\. Press p to pair one\./);
});
