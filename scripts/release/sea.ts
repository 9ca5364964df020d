/**
 * A single executable: a bundle turned into a preparation blob by the pinned Node itself, injected
 * (postject) into a copy of that Node's binary for the target CPU. The V8 code cache is compiled
 * into the blob for the CPU that builds it only: Node's documentation says a blob for another
 * platform must be made without it.
 */
import {spawnSync} from 'node:child_process';
import {chmodSync, copyFileSync, writeFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import type {Runtime} from './runtimes.js';

/** The fuse Node's binary carries for this (from Node's single-executable-applications documentation). */
const seaFuse = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/** `assets`: files the executable carries, by key (node:sea's getAsset). */
export type SeaBuild = {bundle: string; target: Runtime; host: Runtime; output: string; scratch: string; assets?: Record<string, string>};

/** Returns whether the executable carries a code cache. */
export async function buildExecutable({bundle, target, host, output, scratch, assets}: SeaBuild): Promise<boolean> {
	if (target.version !== host.version) {
		throw new Error(`The blob must be made by the Node it runs on: node-linux-${target.arch} is ${target.version}, node-linux-${host.arch} ${host.version}.`);
	}

	const useCodeCache = target.arch === host.arch;
	const blob = `${scratch}.blob`;
	const config = `${scratch}.sea.json`;
	writeFileSync(config, JSON.stringify({main: bundle, output: blob, disableExperimentalSEAWarning: true, useCodeCache, useSnapshot: false, ...(assets ? {assets} : {})}, null, 2));
	quietly(host.binary, ['--experimental-sea-config', config]);
	copyFileSync(target.binary, output);
	chmodSync(output, 0o755);
	quietly(process.execPath, [postjectCli, output, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', seaFuse]);
	return useCodeCache;
}

const postjectCli = createRequire(import.meta.url).resolve('postject/dist/cli.js');

/**
 * Runs a step of the build and passes on what it printed, less the expected chatter: Node's "Wrote
 * single executable preparation blob", and the "Can't find string offset for section name"
 * warnings LIEF (inside postject) prints for every Node binary, which are harmless.
 */
function quietly(command: string, args: string[]): void {
	const result = spawnSync(command, args, {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']});
	const chatter = /^(?:\u001B\[[0-9;]*m)*(Wrote single executable preparation blob|warning: Can't find string offset for section name|💉|Start injection|Injection done)/u;
	const said = `${result.stdout}${result.stderr}`.split('\n').filter(line => line.trim() !== '' && !chatter.test(line));
	if (result.status !== 0 || said.length > 0) {
		process.stderr.write(said.join('\n') + '\n');
	}

	if (result.status !== 0) {
		throw new Error(`${command} ${args.join(' ')} exited with ${result.status ?? result.signal}.`);
	}
}
