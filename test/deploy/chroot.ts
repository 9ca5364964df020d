/**
 * A root file system driven from this host: programs and install.sh run in it under chroot, with a
 * PATH of its own and without NODE_EXTRA_CA_CERTS (it names a file of this host, not of the root).
 */
import {chmodSync, copyFileSync, cpSync, mkdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {run, type Program} from './programs.js';

const inRoot = (root: string) => [root, '/usr/bin/env', '-u', 'NODE_EXTRA_CA_CERTS', 'PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin'];

/** The installed agent, run inside the root. */
export function agentIn(root: string): Program {
	return {command: 'chroot', prefix: [...inRoot(root), '/usr/local/bin/xi-exec-agent']};
}

/** install.sh from the release copied into the root (copyRelease), run there. */
export async function installInside(root: string, args: string[]) {
	return run({command: 'chroot', prefix: [...inRoot(root), 'sh', '/tmp/release/install.sh']}, args);
}

/** What the install of one program (the agent's by default) needs of the release, copied to /tmp/release in the root. */
export function copyRelease(release: string, root: string, program: 'xi-exec-agent' | 'xi-exec' = 'xi-exec-agent'): void {
	const target = join(root, 'tmp', 'release');
	mkdirSync(target, {recursive: true});
	for (const file of ['install.sh', 'README', `${program}-linux-x64`, `${program}.cjs`]) {
		copyFileSync(join(release, file), join(target, file));
	}

	cpSync(join(release, 'services'), join(target, 'services'), {recursive: true});
	chmodSync(join(target, `${program}-linux-x64`), 0o755);
}

/** The installed controller, run inside the root as the user its service runs as (install.sh made it). */
export function controllerIn(root: string): Program {
	return {command: 'chroot', prefix: [...inRoot(root), 'runuser', '-u', 'xi-exec', '--', 'env', 'XI_EXEC_HOME=/var/lib/xi-exec', '/usr/local/bin/xi-exec']};
}

/** A script for the allowlist: root's, 0755, in a root-owned directory. */
export function installScriptAt(root: string, path: string, body: string): void {
	writeFileSync(join(root, path), body, {mode: 0o755});
	chmodSync(join(root, path), 0o755);
}
