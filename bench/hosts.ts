/**
 * Starting the host processes: `workers` node processes, each hosting its share of the
 * servers, dealt round-robin so that the first 10 or 100 agents are spread over every process too.
 */
import {spawn, type ChildProcess} from 'node:child_process';
import {closeSync, mkdirSync, openSync, readFileSync, writeFileSync} from 'node:fs';
import {basename, join} from 'node:path';
import {stopChild, trackChild} from './cleanup.js';
import type {HostMessage} from './host-protocol.js';
import {hostProgram} from './built-host.js';

export const benchDirectory = new URL('.', import.meta.url).pathname;
export const repoRoot = new URL('..', import.meta.url).pathname;
/** Every host process starts with it: TLS servers that send no session tickets (see the file). */
export const noSessionTickets = join(benchDirectory, 'no-session-tickets.cnf');

export type Hosts = {processes: ChildProcess[]; stop: () => Promise<void>};

export function dealRoundRobin<T>(items: readonly T[], workers: number): T[][] {
	const shares: T[][] = Array.from({length: Math.min(workers, items.length)}, () => []);
	for (const [index, item] of items.entries()) {
		shares[index % shares.length]!.push(item);
	}

	return shares;
}

/** Starts one `node bench/<script> INPUT.json` per input (built-host.ts, or through tsx) and waits until all listen. */
/** `name` names the input files (the script's name by default); `readyWithinMs` (180 s) bounds the wait. */
/** Host processes of `script`, one per input; `checkout` runs another checkout's copy of it (BENCH_BASE). */
/** The agent and floor hosts run as plain JavaScript, the agent's code from the checkout's dist/ (built-host.ts says why); the others through tsx. */
export async function startHosts(script: 'agent-host.ts' | 'bare-host.ts' | 'delay-host.ts' | 'mint-host.ts' | 'relay-host.ts' | 'relay-floor-host.ts', inputs: readonly unknown[], directory: string, options: {name?: string; readyWithinMs?: number; checkout?: string} = {}): Promise<Hosts> {
	const name = options.name ?? script.replace(/\.ts$/, '');
	const checkout = options.checkout ?? repoRoot;
	const program = script === 'agent-host.ts' || script === 'bare-host.ts' ? await hostProgram(script, checkout, repoRoot, directory, name) : {path: join(checkout, 'bench', script), tsx: true};
	const processes = await Promise.all(inputs.map((input, index) => {
		const file = join(directory, `${name}-${index}.json`);
		writeFileSync(file, JSON.stringify(input));
		// BENCH_AGENT_FLAGS="--v8-flag ...": node flags for this checkout's agent hosts only (not BENCH_BASE's): one flag measured both ways in one run.
		const flags = script === 'agent-host.ts' && !options.checkout ? process.env['BENCH_AGENT_FLAGS']?.split(' ').filter(Boolean) ?? [] : [];
		return startHost([program.path, file], {readyWithinMs: options.readyWithinMs, nodeFlags: flags, tsx: program.tsx});
	}));
	return {
		processes,
		async stop() {
			await Promise.all(processes.map(child => stopChild(child)));
		},
	};
}

function hostLog(args: readonly string[]): 'ignore' | number {
	const directory = process.env['BENCH_HOST_LOGS'];
	if (!directory) {
		return 'ignore';
	}

	mkdirSync(directory, {recursive: true});
	return openSync(join(directory, `${basename(args.at(-1) ?? 'host', '.json')}.log`), 'a');
}

export function startHost(args: readonly string[], options: {tsx?: boolean; readyWithinMs?: number | undefined; nodeFlags?: readonly string[]} = {}): Promise<ChildProcess> {
	// BENCH_PROFILE=DIR: every host writes a V8 CPU profile there when it exits (for "where does the time go").
	const profile = process.env['BENCH_PROFILE'] ? [`--cpu-prof`, `--cpu-prof-dir=${process.env['BENCH_PROFILE']}`] : [];
	// BENCH_HOST_LOGS=DIR: each host's stdout (for agents, their JSON log) goes to a file there.
	const stdout = hostLog(args);
	const child = trackChild(spawn(process.execPath, [`--openssl-config=${noSessionTickets}`, ...(options.nodeFlags ?? []), ...profile, ...(options.tsx === false ? [] : ['--import=tsx']), ...args], {
		cwd: repoRoot,
		stdio: ['ignore', stdout, 'pipe', 'ipc'],
	}));
	if (typeof stdout === 'number') {
		closeSync(stdout);
	}

	let stderr = '';
	child.stderr!.on('data', (chunk: Buffer) => {
		stderr = (stderr + chunk.toString()).slice(-10_000);
	});
	return new Promise((resolve, reject) => {
		const readyWithinMs = options.readyWithinMs ?? 180_000;
		const timer = setTimeout(() => {
			reject(new Error(`${args[0]} did not report ready within ${readyWithinMs / 1000} s`));
		}, readyWithinMs);
		child.on('message', (message: HostMessage) => {
			clearTimeout(timer);
			if ('ready' in message) {
				resolve(child);
			} else if ('failed' in message) {
				reject(new Error(`${args[0]} failed to start: ${message.failed}`));
			}
		});
		child.once('exit', code => {
			clearTimeout(timer);
			reject(new Error(`${args[0]} exited with ${code}: ${stderr.trim()}`));
		});
	});
}

/**
 * CPU time used so far (user + system, including waited-for children such as the scripts they ran)
 * by these processes, in ms: /proc/PID/stat fields 14-17, in USER_HZ (100 per second on Linux).
 */
export function cpuMs(processes: readonly ChildProcess[]): number {
	let ticks = 0;
	for (const child of processes) {
		const stat = readFileSync(`/proc/${child.pid!}/stat`, 'utf8');
		const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
		ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
	}

	return ticks * 10;
}

/** CPU time of this process's children that have exited and been waited for (a CLI run, parallel-ssh with its ssh clients), in ms. */
export function reapedChildrenCpuMs(): number {
	const stat = readFileSync('/proc/self/stat', 'utf8');
	const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
	return (Number(fields[13]) + Number(fields[14])) * 10;
}

/** This process's own CPU time so far, in ms. */
export function ownCpuMs(): number {
	const {user, system} = process.cpuUsage();
	return (user + system) / 1000;
}

/** This process's resident memory now (VmRSS) and its peak so far (VmHWM), in KiB. */
export function ownRssKiB(): {rss: number; peak: number} {
	const status = readFileSync('/proc/self/status', 'utf8');
	const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? Number.NaN);
	return {rss: field('VmRSS'), peak: field('VmHWM')};
}

/**
 * Starts a new peak for ownRssKiB().peak: writing 5 to /proc/self/clear_refs resets VmHWM to the
 * resident memory now (Linux ≥ 4.0), so that a peak read after a run is that run's own, not the
 * largest of every run this process made. False where the kernel refuses (the peak is then the
 * process's peak so far).
 */
export function resetPeakRss(): boolean {
	try {
		writeFileSync('/proc/self/clear_refs', '5');
		return true;
	} catch {
		return false;
	}
}

/** Resident memory of each of these processes, in KiB (VmRSS). */
export function rssKiB(processes: readonly ChildProcess[]): number[] {
	return processes.map(child => {
		const line = readFileSync(`/proc/${child.pid!}/status`, 'utf8').split('\n').find(text => text.startsWith('VmRSS:'));
		return Number(/(\d+)/.exec(line ?? '')?.[1] ?? Number.NaN);
	});
}
