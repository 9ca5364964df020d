/**
 * A Debian 12 root file system for the deployment tests: `debootstrap --variant=minbase bookworm`
 * with systemd added (for the systemd-nspawn boot; nothing in it starts systemd under chroot) and no
 * Node. Made once (two to six minutes, longer than ava waits for a test) by test/deploy/prepare.ts
 * into a cache shared by the test files, and copied into each test's own directory, so a test
 * changes only its copy. A test skips with the reason when the cache is not there.
 *
 * The cache is `.cache/debian-bookworm` in the checkout, or `$XI_EXEC_DEBIAN_ROOT_CACHE`.
 */
import {execFileSync, spawnSync} from 'node:child_process';
import {existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {dirname, join} from 'node:path';
import lockfile from 'proper-lockfile';
import {repoRoot} from '../helpers/fleet.js';

export const debianPackages = ['systemd', 'libstdc++6'];

/** Why these tests cannot run here, or undefined when they can. */
export function missingFor(tools: string[]): string | undefined {
	if (process.getuid?.() !== 0) {
		return 'the deployment tests need root (chroot, mounts, useradd inside the root file system)';
	}

	const missing = tools.filter(tool => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
	return missing.length > 0 ? `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not installed (.ci/run installs ${missing.length === 1 ? 'it' : 'them'} from Debian's archive)` : undefined;
}

export function debianRootCache(): string {
	return process.env['XI_EXEC_DEBIAN_ROOT_CACHE'] ?? join(repoRoot, '.cache', 'debian-bookworm');
}

/** Why the cached root cannot be used, or undefined when it is there. */
export function debianRootMissing(): string | undefined {
	return existsSync(join(debianRootCache(), '.xi-exec-complete')) ? undefined : `no Debian root in ${debianRootCache()}: run \`node --import=tsx test/deploy/prepare.ts\` (debootstrap, a few minutes; .ci/run does it)`;
}

/** Makes the cached root when it is not there yet (under a lock: one process makes it, the others wait). */
export async function cachedDebianRoot(): Promise<string> {
	const cache = debianRootCache();
	const complete = join(cache, '.xi-exec-complete');
	if (existsSync(complete)) {
		return cache;
	}

	mkdirSync(dirname(cache), {recursive: true});
	const release = await lockfile.lock(dirname(cache), {lockfilePath: `${cache}.lock`, retries: {retries: 900, minTimeout: 1000, maxTimeout: 1000}});
	try {
		if (!existsSync(complete)) {
			const partial = `${cache}.partial`;
			rmSync(partial, {recursive: true, force: true});
			rmSync(cache, {recursive: true, force: true});
			execFileSync('debootstrap', ['--variant=minbase', `--include=${debianPackages.join(',')}`, 'bookworm', partial, debianMirror()], {stdio: ['ignore', 'ignore', 'pipe']});
			execFileSync('chroot', [partial, 'apt-get', 'clean']);
			execFileSync('touch', [join(partial, '.xi-exec-complete')]);
			renameSync(partial, cache);
		}
	} finally {
		await release();
	}

	return cache;
}

/** A copy of the cached root for one test (`cp -a`: owners, modes and links as they are). */
export async function debianRootCopy(directory: string): Promise<string> {
	const root = join(directory, 'root');
	execFileSync('cp', ['-a', await cachedDebianRoot(), root]);
	rmSync(join(root, '.xi-exec-complete'));
	return root;
}

/** The Debian mirror this machine's apt uses (debootstrap needs one), else Debian's own. */
function debianMirror(): string {
	for (const file of ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list']) {
		try {
			const text = readFileSync(file, 'utf8');
			const uri = /^URIs:\s*(\S+)/m.exec(text)?.[1] ?? /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s/m.exec(text)?.[1];
			if (uri) {
				return uri;
			}
		} catch {
			// Not this file.
		}
	}

	return 'http://deb.debian.org/debian';
}

/** Mount points under `directory` (from /proc/mounts), deepest first. */
export function mountsUnder(directory: string): string[] {
	return readFileSync('/proc/mounts', 'utf8').split('\n')
		.map(line => line.split(' ')[1]?.replaceAll('\\040', ' '))
		.filter((point): point is string => point !== undefined && (point === directory || point.startsWith(`${directory}/`)))
		.sort((a, b) => b.length - a.length);
}

/**
 * A root of the test's own with /proc mounted (Node reads /proc/self), and a teardown that
 * unmounts everything under the directory before removing it, and refuses to remove it otherwise.
 */
export async function preparedRoot(teardown: (fn: () => void) => void): Promise<{directory: string; root: string; unmountProc: () => void}> {
	const directory = mkdtempSync(join(tmpdir(), 'xi-exec-root-'));
	teardown(() => {
		for (const point of mountsUnder(directory)) {
			spawnSync('umount', ['-l', point]);
		}

		if (mountsUnder(directory).length === 0) {
			rmSync(directory, {recursive: true, force: true});
		}
	});
	const root = await debianRootCopy(directory);
	execFileSync('mount', ['-t', 'proc', 'proc', join(root, 'proc')]);
	return {directory, root, unmountProc: () => execFileSync('umount', [join(root, 'proc')])};
}

/** Every path in the root file system (files, directories, links), relative, sorted; /proc and /tmp left out. */
export function filesIn(root: string): string[] {
	const listed = execFileSync('find', [root, '-xdev', '-mindepth', '1'], {encoding: 'utf8', maxBuffer: 64 * 1024 * 1024});
	return listed.split('\n').filter(Boolean).map(path => path.slice(root.length + 1))
		.filter(path => !/^(proc|tmp)(\/|$)/.test(path) || path === 'proc' || path === 'tmp')
		.sort();
}
