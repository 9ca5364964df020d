/**
 * The release the deployment tests install: dist/release/ from `npm run dist` (or
 * `$XI_EXEC_RELEASE`). Building it takes minutes, longer than ava waits for a test, so the tests
 * do not build it: test/deploy/prepare.ts does (.ci/run runs it), and a test skips with the reason
 * when the release is missing or older than its sources.
 */
import {execFileSync} from 'node:child_process';
import {existsSync, readdirSync, readFileSync, statSync} from 'node:fs';
import {join} from 'node:path';
import {repoRoot} from '../helpers/fleet.js';

export const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {version: string}).version;

const inputs = ['source', 'agent', 'packaging', 'scripts/release', 'package.json', 'package-lock.json'];

export function releaseDirectory(): {release: string} | {missing: string} {
	const given = process.env['XI_EXEC_RELEASE'];
	if (given) {
		return {release: given};
	}

	const release = join(repoRoot, 'dist', 'release');
	return fresh(join(release, 'SHA256SUMS')) ? {release} : {missing: 'dist/release is missing or older than its sources: run `node --import=tsx test/deploy/prepare.ts` (npm run dist; .ci/run does it)'};
}

/** Runs `npm run dist` unless the release is fresh. */
export function buildRelease(): void {
	if (!process.env['XI_EXEC_RELEASE'] && !fresh(join(repoRoot, 'dist', 'release', 'SHA256SUMS'))) {
		execFileSync('npm', ['run', '--silent', 'dist'], {cwd: repoRoot, stdio: 'inherit'});
	}
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
