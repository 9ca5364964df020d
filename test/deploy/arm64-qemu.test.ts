/**
 * The linux-arm64 single executables actually run: under Debian's qemu-user (`qemu-aarch64`;
 * qemu-user-static's `qemu-aarch64-static` does as well), with Debian's aarch64 C library and libstdc++
 * (libc6-arm64-cross, libstdc++6-arm64-cross: /usr/aarch64-linux-gnu). Not through binfmt_misc:
 * registering an interpreter is global to the host, and in this container /proc/sys/fs/binfmt_misc
 * is not mounted, so the emulator is named on the command line, and it runs the aarch64 dynamic
 * loader, which loads the executable (`qemu-aarch64 LD.so --library-path LIB ./binary`).
 * Not `qemu -L SYSROOT`: that maps every absolute path into the sysroot first, "/" included, and
 * the agent's walk from "/" to a script then finds no /tmp (measured: SCRIPT_UNSAFE, ENOENT). Both print package.json's version; the arm64 agent is initialised, paired with the
 * x64 controller, started, and runs a script for a `run` over real TLS (the script itself is an
 * x64 program the agent's execve hands to the host's kernel: qemu emulates only the agent).
 * Emulated, the agent takes seconds to start: nothing here is timed.
 */
import {existsSync} from 'node:fs';
import {join} from 'node:path';
import {freePort, installFixture, temporaryDirectory} from '../helpers/fleet.js';
import {missingFor} from './debian-root.js';
import {gate} from './gate.js';
import {pair, run, start, succeed, type Program} from './programs.js';
import {releaseDirectory, version} from './release.js';

const sysroot = '/usr/aarch64-linux-gnu';
const qemu = ['qemu-aarch64', 'qemu-aarch64-static'].find(name => missingFor([name]) === undefined);
const found = releaseDirectory();
const release = 'release' in found ? found.release : '';
const test = gate('the arm64 executables under qemu-user', [
	process.arch === 'x64' ? undefined : 'this test emulates arm64 on an x64 host',
	qemu ? undefined : missingFor(['qemu-aarch64']),
	existsSync(join(sysroot, 'lib', 'ld-linux-aarch64.so.1')) && existsSync(join(sysroot, 'lib', 'libstdc++.so.6')) ? undefined : `no aarch64 C library and libstdc++ in ${sysroot} (.ci/run installs libc6-arm64-cross and libstdc++6-arm64-cross)`,
	'missing' in found ? found.missing : undefined,
]);

function emulated(name: string, env: Record<string, string> = {}): Program {
	return {command: qemu!, prefix: [join(sysroot, 'lib', 'ld-linux-aarch64.so.1'), '--library-path', join(sysroot, 'lib'), join(release, `${name}-linux-arm64`)], env};
}

test('both arm64 executables print package.json\'s version; the arm64 agent pairs with the x64 controller, starts and runs a script', async t => {
	for (const name of ['xi-exec', 'xi-exec-agent']) {
		t.is((await succeed(emulated(name), ['--version'])).trim(), version, name);
	}

	const directory = temporaryDirectory('xi-exec-arm64-');
	const controller: Program = {command: join(release, 'xi-exec-linux-x64'), env: {XI_EXEC_HOME: join(directory, 'controller')}};
	const agent = emulated('xi-exec-agent', {XI_EXEC_AGENT_HOME: join(directory, 'agent')});
	await succeed(controller, ['init']);
	const port = freePort();
	await succeed(agent, ['init', '--name', 'arm1', '--listen', `127.0.0.1:${port}`, '--tag', 'arch=arm64']);
	await succeed(agent, ['allow', 'echo-args', installFixture('echo-args.sh'), '--description', 'prints its argv']);
	const paired = await pair(controller, agent, 'arm1');
	t.like(paired.controller, {event: 'paired', agent: 'arm1', tags: {arch: 'arm64'}});

	const daemon = start(agent, ['start']);
	t.teardown(async () => daemon.stop('SIGKILL'));
	t.like(await daemon.event('listening'), {agent: 'arm1', address: `127.0.0.1:${port}`, scripts: 1});
	const ran = await run(controller, ['run', 'echo-args', '--on', 'arm1', '--json', '--', 'a b']);
	t.is(ran.code, 0, ran.stdout + ran.stderr);
	t.like((JSON.parse(ran.stdout) as {results: unknown[]}).results[0], {agent: 'arm1', status: 'ok', exitCode: 0, stdout: '[a b]\n'});
	const stopped = await daemon.stop('SIGTERM');
	t.is(stopped.code, 0, stopped.stderr);
	t.regex(await succeed(agent, ['audit', 'verify']), /^ok: \d+ records, chain intact/);
});
