/**
 * The OpenSSH side of the comparison: a private sshd on 127.0.0.1 (its own host key, one
 * authorized client key, its own config and pid file, all in a temporary directory), and the
 * clients run against it: parallel-ssh over 100 host entries that all point at it, and a one-shot
 * `ssh host true`. The client ignores every ssh_config (`-F /dev/null`), so no connection sharing.
 */
import {spawn, type ChildProcess} from 'node:child_process';
import {accessSync, constants, existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {connect} from 'node:net';
import {userInfo} from 'node:os';
import {delimiter, join} from 'node:path';
import {stopChild, trackChild, trackPath} from './cleanup.js';
import {firstLine, runTimed, sleep, type Finished} from './processes.js';

export type SshTools = {sshd: string; parallelSsh: string; ssh: string; sshKeygen: string};

export type LoopbackSshd = {port: number; user: string; clientOptions: string[]; key: string; process: ChildProcess; stop: () => Promise<void>};

function findExecutable(name: string): string | undefined {
	const directories = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/local/sbin'];
	for (const directory of directories.filter(Boolean)) {
		const path = join(directory, name);
		try {
			accessSync(path, constants.X_OK);
			return path;
		} catch {
			// Not here.
		}
	}

	return undefined;
}

/** The tools, or why the comparison cannot run here. */
export function findSshTools(): SshTools | string {
	const tools = {
		sshd: findExecutable('sshd'),
		parallelSsh: findExecutable('parallel-ssh') ?? findExecutable('pssh'),
		ssh: findExecutable('ssh'),
		sshKeygen: findExecutable('ssh-keygen'),
	};
	const packages = {sshd: ['sshd', 'openssh-server'], parallelSsh: ['parallel-ssh', 'pssh'], ssh: ['ssh', 'openssh-client'], sshKeygen: ['ssh-keygen', 'openssh-client']} as const;
	const missing = Object.entries(packages)
		.filter(([tool]) => tools[tool as keyof typeof tools] === undefined)
		.map(([, [command, pkg]]) => `${command} (Debian package ${pkg})`);
	return missing.length === 0 ? tools as SshTools : `not installed: ${missing.join(', ')}; \`apt-get install -y openssh-server pssh\` enables it`;
}

function portAccepts(port: number): Promise<boolean> {
	return new Promise(resolve => {
		const socket = connect({host: '127.0.0.1', port}, () => {
			socket.destroy();
			resolve(true);
		});
		socket.on('error', () => resolve(false));
	});
}

export async function startLoopbackSshd(tools: SshTools, directory: string, port: number): Promise<LoopbackSshd> {
	mkdirSync(directory, {recursive: true, mode: 0o700});
	const hostKey = join(directory, 'host_ed25519');
	const key = join(directory, 'client_ed25519');
	for (const path of [hostKey, key]) {
		const made = await runTimed(tools.sshKeygen, ['-q', '-t', 'ed25519', '-N', '', '-C', 'xi-exec-bench', '-f', path]);
		if (made.code !== 0) {
			throw new Error(`ssh-keygen failed: ${firstLine(made.stderr)}`);
		}
	}

	writeFileSync(join(directory, 'authorized_keys'), readFileSync(`${key}.pub`, 'utf8'), {mode: 0o600});
	const config = join(directory, 'sshd_config');
	writeFileSync(config, [
		`Port ${port}`,
		'ListenAddress 127.0.0.1',
		`HostKey ${hostKey}`,
		`PidFile ${join(directory, 'sshd.pid')}`,
		`AuthorizedKeysFile ${join(directory, 'authorized_keys')}`,
		// The temporary directory sits in world-writable /tmp, which StrictModes would refuse.
		'StrictModes no',
		'UsePAM no',
		'PubkeyAuthentication yes',
		'PasswordAuthentication no',
		'KbdInteractiveAuthentication no',
		'PermitRootLogin prohibit-password',
		// 100 clients at once: the default (10:30:100) would drop most of them before authentication.
		'MaxStartups 1000',
		'PrintMotd no',
		'PrintLastLog no',
		'UseDNS no',
		'LogLevel ERROR',
		// bash sources ~/.bashrc for a command run by sshd when SHLVL < 2; a heavy rc file on this host
		// (pyenv init costs 0.5 s) would be measured instead of ssh. A clean rc is the fair baseline.
		'SetEnv SHLVL=1',
		'',
	].join('\n'));

	// As root, sshd needs its privilege-separation directory; create it for the run if missing.
	if (process.getuid?.() === 0 && !existsSync('/run/sshd')) {
		mkdirSync('/run/sshd', {mode: 0o755});
		trackPath('/run/sshd');
	}

	const checked = await runTimed(tools.sshd, ['-t', '-f', config]);
	if (checked.code !== 0) {
		throw new Error(`sshd -t refused the config: ${firstLine(checked.stderr)}`);
	}

	const child = trackChild(spawn(tools.sshd, ['-D', '-e', '-f', config], {stdio: ['ignore', 'ignore', 'pipe']}));
	let stderr = '';
	child.stderr!.on('data', (chunk: Buffer) => {
		stderr += chunk.toString();
	});
	for (let attempt = 0; !(await portAccepts(port)); attempt++) {
		if (attempt > 100 || child.exitCode !== null) {
			await stopChild(child);
			throw new Error(`sshd did not listen on 127.0.0.1:${port}: ${firstLine(stderr)}`);
		}

		await sleep(100);
	}

	const user = userInfo().username;
	const clientOptions = ['-F', '/dev/null', '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=no', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR'];
	return {port, user, clientOptions, key, process: child, stop: () => stopChild(child)};
}

/** parallel-ssh's own default parallelism (psshlib/cli.py, _DEFAULT_PARALLELISM). */
export const parallelSshDefault = 32;

/** `ssh -p PORT USER@127.0.0.1 COMMAND`; `port` is another way to the same sshd (a delaying proxy). */
export function sshRun(tools: SshTools, sshd: LoopbackSshd, command: string, port = sshd.port): Promise<Finished> {
	return runTimed(tools.ssh, [...sshd.clientOptions, '-p', String(port), `${sshd.user}@127.0.0.1`, command]);
}

/**
 * parallel-ssh over `hosts` entries that all point at the loopback sshd (or at `port`, a delaying
 * proxy in front of it), at most `parallel` at once (default: one per host); `ok` counts [SUCCESS] lines.
 */
export async function parallelSsh(tools: SshTools, sshd: LoopbackSshd, directory: string, hosts: number, command: string, options: {port?: number; parallel?: number} = {}): Promise<Finished & {ok: number}> {
	const port = options.port ?? sshd.port;
	const hostsFile = join(directory, `hosts-${hosts}-${port}`);
	writeFileSync(hostsFile, Array.from({length: hosts}, () => `127.0.0.1:${port}\n`).join(''));
	const finished = await runTimed(tools.parallelSsh, [
		'-h', hostsFile,
		'-p', String(options.parallel ?? hosts),
		'-t', '240',
		'-l', sshd.user,
		'-x', '-F /dev/null',
		'-O', `IdentityFile=${sshd.key}`,
		'-O', 'IdentitiesOnly=yes',
		'-O', 'UserKnownHostsFile=/dev/null',
		'-O', 'StrictHostKeyChecking=no',
		'-O', 'BatchMode=yes',
		'-O', 'LogLevel=ERROR',
		command,
	], {timeoutMs: 300_000});
	return {...finished, ok: finished.stdout.split('\n').filter(line => line.includes('[SUCCESS]')).length};
}
