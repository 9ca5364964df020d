/**
 * Idle RSS: one real `xi-exec-agent start` process (the built dist/agent/cli.js) against one bare
 * node:tls server process (bare-host.ts with one server, the same certificate, compiled to plain
 * JavaScript so that neither carries tsx). Both run on plain node with the same flags: a preload
 * that collects garbage every 500 ms; RSS is read from /proc after start-up and a settle period.
 */
import {spawn} from 'node:child_process';
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {createInterface} from 'node:readline';
import ts from 'typescript';
import {stopChild, trackChild} from './cleanup.js';
import type {BareHostInput} from './bare-host.js';
import {benchDirectory, repoRoot, rssKiB} from './hosts.js';
import {sleep} from './processes.js';

export const agentCli = join(repoRoot, 'dist/agent/cli.js');
const gcPreload = 'data:text/javascript,setInterval(() => globalThis.gc(), 500).unref();';
const nodeFlags = ['--expose-gc', `--import=${gcPreload}`];
const settleMs = 2500;

/** bare-host.ts and what it imports, as plain ES modules in `directory`; returns bare-host.js's path. */
export function compileBareHost(directory: string): string {
	return compileBench(directory, ['bare-host', 'host-protocol']);
}

/** bench files (the first one's imports among them) as plain ES modules in `directory`, to run without tsx; returns the first one's path. */
export function compileBench(directory: string, names: readonly [string, ...string[]]): string {
	mkdirSync(directory, {recursive: true});
	writeFileSync(join(directory, 'package.json'), '{"type": "module"}\n');
	for (const name of names) {
		const source = readFileSync(join(benchDirectory, `${name}.ts`), 'utf8');
		const {outputText} = ts.transpileModule(source, {compilerOptions: {module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022}});
		writeFileSync(join(directory, `${name}.js`), outputText);
	}

	return join(directory, `${names[0]}.js`);
}

export type ServerRss = {idle: number; busy?: number};

/**
 * Starts `node FLAGS ...args`, waits for a stdout line containing `readyText`, settles, reads RSS;
 * then, with `busy`, runs it while sampling RSS every 5 ms and keeps the peak; stops it.
 */
async function serverRss(args: readonly string[], env: NodeJS.ProcessEnv, readyText: string, busy?: () => Promise<void>): Promise<ServerRss> {
	const child = trackChild(spawn(process.execPath, [...nodeFlags, ...args], {env, stdio: ['ignore', 'pipe', 'pipe']}));
	let stderr = '';
	child.stderr!.on('data', (chunk: Buffer) => {
		stderr += chunk.toString();
	});
	try {
		await new Promise<void>((resolve, reject) => {
			createInterface({input: child.stdout!}).on('line', line => {
				if (line.includes(readyText)) {
					resolve();
				}
			});
			child.once('exit', code => reject(new Error(`${args.join(' ')} exited with ${code}: ${stderr.trim()}`)));
		});
		await sleep(settleMs);
		const idle = rssKiB([child])[0]!;
		if (!busy) {
			return {idle};
		}

		let peak = idle;
		const sampler = setInterval(() => {
			peak = Math.max(peak, rssKiB([child])[0]!);
		}, 5);
		try {
			await busy();
		} finally {
			clearInterval(sampler);
		}

		return {idle, busy: Math.max(peak, rssKiB([child])[0]!)};
	} finally {
		await stopChild(child);
	}
}

export async function agentIdleRss(agentHome: string): Promise<number> {
	return (await serverRss([agentCli, 'start'], {...process.env, XI_EXEC_AGENT_HOME: agentHome}, '"event":"listening"')).idle;
}

/** The agent's idle RSS, and its peak while `busy` runs (a run with a large output). */
export function agentRss(agentHome: string, busy: () => Promise<void>): Promise<ServerRss> {
	return serverRss([agentCli, 'start'], {...process.env, XI_EXEC_AGENT_HOME: agentHome}, '"event":"listening"', busy);
}

export async function bareIdleRss(bareHostJs: string, directory: string, input: BareHostInput): Promise<number> {
	return (await bareRss(bareHostJs, directory, input)).idle;
}

export function bareRss(bareHostJs: string, directory: string, input: BareHostInput, busy?: () => Promise<void>): Promise<ServerRss> {
	const file = join(directory, 'bare-rss.json');
	writeFileSync(file, JSON.stringify(input));
	return serverRss([bareHostJs, file], process.env, '"ready":1', busy);
}
