/**
 * `npm run dist`: the release in dist/release/. Both programs as single-file JS bundles (for hosts
 * with their own Node) and as single executables for linux-x64 and linux-arm64, install.sh and the
 * service files, the reference policy hook, the reference Compose deployment, a short README, and
 * SHA256SUMS over all of it.
 */
import {chmodSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {bundleHook, bundleProgram, programs, threadAsset} from './bundle.js';
import {writeChecksums} from './checksums.js';
import {installRuntimes, pinnedRuntimes} from './runtimes.js';
import {buildExecutable} from './sea.js';

const release = 'dist/release';
const scratch = 'dist/release-build';
const version = (JSON.parse(readFileSync('package.json', 'utf8')) as {version: string}).version;

rmSync(release, {recursive: true, force: true});
rmSync(scratch, {recursive: true, force: true});
mkdirSync(release, {recursive: true});
mkdirSync(scratch, {recursive: true});

const runtimes = pinnedRuntimes();
installRuntimes(runtimes);
const host = runtimes.find(runtime => runtime.arch === process.arch);
if (!host) {
	throw new Error(`npm run dist builds on linux-x64 or linux-arm64 (this is ${process.platform}-${process.arch}).`);
}

for (const program of programs) {
	// The entry's `#!/usr/bin/env node` line is kept by esbuild (and a single executable accepts it).
	const script = join(release, `${program.name}.cjs`);
	const bytes = await bundleProgram(program, script);
	chmodSync(script, 0o755);
	log(`${script}  ${mib(bytes)}`);
	// What the executables embed: the same program, the controller's dispatch thread as an asset beside it (bundle.ts).
	const bundle = join(scratch, `${program.name}.cjs`);
	const threadFile = join(scratch, `${program.name}-${threadAsset}`);
	await bundleProgram(program, bundle, {threadFile});
	const assets = existsSync(threadFile) ? {[threadAsset]: threadFile} : undefined;
	for (const target of runtimes) {
		const output = join(release, `${program.name}-linux-${target.arch}`);
		const codeCache = await buildExecutable({bundle, target, host, output, scratch: join(scratch, `${program.name}-${target.arch}`), ...(assets ? {assets} : {})});
		log(`${output}  Node ${target.version}${codeCache ? ', code cache' : ', no code cache (built on another CPU)'}`);
	}
}

// The reference policy hook, for agents on a host with its own Node (README "Auth hooks").
const hook = join(release, 'hooks', 'local-policy.mjs');
const hookBytes = await bundleHook(hook);
chmodSync(hook, 0o755);
log(`${hook}  ${mib(hookBytes)}`);

cpSync('packaging/install.sh', join(release, 'install.sh'));
chmodSync(join(release, 'install.sh'), 0o755);
cpSync('packaging/services', join(release, 'services'), {recursive: true});
// The reference Compose deployment builds from the release directory itself.
for (const [from, to] of [['compose.yaml', 'compose.yaml'], ['Dockerfile', 'Dockerfile'], ['docker-entrypoint.sh', 'docker-entrypoint.sh'], ['dockerignore', '.dockerignore']] as const) {
	cpSync(join('packaging/compose', from), join(release, to));
}

writeFileSync(join(release, 'README'), readFileSync('packaging/release-README', 'utf8').replaceAll('@VERSION@', version).replaceAll('@NODE_VERSION@', host.version));
writeChecksums(release);
rmSync(scratch, {recursive: true, force: true});
log(`${release}/SHA256SUMS: check with \`cd ${release} && sha256sum -c SHA256SUMS\``);

function log(line: string): void {
	process.stdout.write(`dist: ${line}\n`);
}

function mib(bytes: number): string {
	return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
