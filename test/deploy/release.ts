/**
 * The release the deployment tests install: `npm run dist` into dist/release/, made once per change
 * of the sources (under a lock, as test files run in parallel), or `$XI_EXEC_RELEASE` when set.
 */
import {execFileSync} from 'node:child_process';
import {existsSync, mkdirSync, readdirSync, readFileSync, statSync} from 'node:fs';
import {join} from 'node:path';
import lockfile from 'proper-lockfile';
import {repoRoot} from '../helpers/fleet.js';

export const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {version: string}).version;

const inputs = ['source', 'agent', 'packaging', 'scripts/release', 'package.json', 'package-lock.json'];

export async function releaseDirectory(): Promise<string> {
	const given = process.env['XI_EXEC_RELEASE'];
	if (given) {
		return given;
	}

	const release = join(repoRoot, 'dist', 'release');
	const sums = join(release, 'SHA256SUMS');
	if (fresh(sums)) {
		return release;
	}

	mkdirSync(join(repoRoot, 'dist'), {recursive: true});
	const unlock = await lockfile.lock(repoRoot, {lockfilePath: join(repoRoot, 'dist', '.release.lock'), retries: {retries: 600, minTimeout: 1000, maxTimeout: 1000}});
	try {
		if (!fresh(sums)) {
			execFileSync('npm', ['run', '--silent', 'dist'], {cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe']});
		}
	} finally {
		await unlock();
	}

	return release;
}

/** Whether the release is newer than every file it is made from. */
function fresh(sums: string): boolean {
	if (!existsSync(sums)) {
		return false;
	}

	const built = statSync(sums).mtimeMs;
	return inputs.every(input => newest(join(repoRoot, input)) <= built);
}

function newest(path: string): number {
	const stat = statSync(path, {throwIfNoEntry: false});
	if (!stat) {
		return 0;
	}

	if (!stat.isDirectory()) {
		return stat.mtimeMs;
	}

	return Math.max(stat.mtimeMs, ...readdirSync(path).filter(entry => entry !== 'node_modules').map(entry => newest(join(path, entry))));
}
