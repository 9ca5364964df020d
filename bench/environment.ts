/** What the bench needs from this machine: settings, file-descriptor limits, a free port range. */
import {existsSync, readdirSync, readFileSync, statSync} from 'node:fs';
import {createServer, type Server} from 'node:net';
import {cpus, loadavg} from 'node:os';
import {join, relative} from 'node:path';
import {repoRoot} from './hosts.js';

export type Settings = {sizes: number[]; repetitions: number; workers: number; parallel: number; delayMs: number; relay: boolean; spawn: boolean; only?: ReadonlySet<Section>};

/**
 * The parts of the bench BENCH_ONLY can choose (fan-out includes the relay's fan-out rows, relay
 * its dry runs cold and warm against direct TLS: measure-relay.ts; cli-rss is the
 * built CLI on every agent at N ≥ 1000 with its peak RSS); `threads` runs only when named.
 */
export const sections = ['fan-out', 'relay', 'cli-rss', 'latency', 'console', 'ssh', 'start', 'rss', 'release', 'durability', 'threads'] as const;
export type Section = typeof sections[number];

function onlySections(): ReadonlySet<Section> | undefined {
	const text = process.env['BENCH_ONLY'];
	if (text === undefined || text === '') {
		return undefined;
	}

	const names = text.split(',');
	const unknown = names.filter(name => !(sections as readonly string[]).includes(name));
	if (unknown.length > 0) {
		throw new Error(`BENCH_ONLY=${text}: ${unknown.join(', ')} unknown; expected some of ${sections.join(',')}`);
	}

	return new Set(names as Section[]);
}

/** Whether this run measures `section` (every one unless BENCH_ONLY names some). */
export function measures(settings: Settings, section: Section): boolean {
	return settings.only === undefined ? section !== 'threads' : settings.only.has(section);
}

function numbers(name: string, fallback: number[]): number[] {
	const text = process.env[name];
	if (text === undefined || text === '') {
		return fallback;
	}

	const values = text.split(',').map(Number);
	if (values.some(value => !Number.isInteger(value) || value < 1)) {
		throw new Error(`${name}=${text}: expected positive whole numbers separated by commas`);
	}

	return values;
}

/**
 * BENCH_SIZES (10,100,1000), BENCH_REPS (5), BENCH_WORKERS (4), BENCH_PARALLEL (256), BENCH_DELAY_MS
 * (25; 0: no delayed runs), BENCH_RELAY (1; 0: no relay rows), BENCH_SPAWN (1; 0: the fan-outs are
 * dry runs and the floor spawns nothing: what the controller and the transport cost at 10,000 agents
 * without 10,000 scripts on this machine's cores), BENCH_ONLY (every section).
 */
export function readSettings(): Settings {
	const delay = process.env['BENCH_DELAY_MS'];
	const only = onlySections();
	return {
		relay: process.env['BENCH_RELAY'] !== '0',
		spawn: process.env['BENCH_SPAWN'] !== '0',
		...(only ? {only} : {}),
		delayMs: delay === '0' ? 0 : numbers('BENCH_DELAY_MS', [25])[0]!,
		sizes: numbers('BENCH_SIZES', [10, 100, 1000]).sort((a, b) => a - b),
		repetitions: numbers('BENCH_REPS', [5])[0]!,
		workers: numbers('BENCH_WORKERS', [4])[0]!,
		parallel: numbers('BENCH_PARALLEL', [256])[0]!,
	};
}

/** The load average over 1, 5 and 15 minutes, as the reports print it. */
export const loadAverage = () => loadavg().map(value => value.toFixed(1)).join(' ');

/** Undefined when dist/ is missing (said on the log); else the warnings a report carries (a stale build, also logged). */
export function buildNotes(log: (text: string) => void): string[] | undefined {
	const unbuilt = missingBuild();
	if (unbuilt) {
		log(unbuilt);
		return undefined;
	}

	const stale = staleBuild();
	if (!stale) {
		return [];
	}

	log(`warning: ${stale}`);
	return [`warning: ${stale}`];
}

export function missingBuild(): string | undefined {
	const missing = ['dist/source/cli.cjs', 'dist/source/cli.js', 'dist/agent/cli.js'].filter(path => !existsSync(join(repoRoot, path)));
	return missing.length === 0 ? undefined : `${missing.join(' and ')} missing: run \`npm run build\` first.`;
}

/**
 * Source files newer than their build: the fan-out runs source/ and agent/ through tsx, while the
 * CLI and the idle-RSS agent run dist/, so the two must be the same code.
 */
export function staleBuild(): string | undefined {
	const stale: string[] = [];
	const visit = (directory: string) => {
		for (const entry of readdirSync(directory, {withFileTypes: true})) {
			const path = join(directory, entry.name);
			if (entry.isDirectory()) {
				visit(path);
			} else if (/\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts')) {
				const built = join(repoRoot, 'dist', relative(repoRoot, path).replace(/\.tsx?$/, '.js'));
				if (!existsSync(built) || statSync(built).mtimeMs < statSync(path).mtimeMs) {
					stale.push(relative(repoRoot, path));
				}
			}
		}
	};

	for (const directory of ['source', 'agent']) {
		visit(join(repoRoot, directory));
	}

	return stale.length === 0 ? undefined : `dist/ is older than ${stale.length} source file(s) (${stale.slice(0, 3).join(', ')}${stale.length > 3 ? ', ...' : ''}): the CLI and RSS rows measure the older build; run \`npm run build\` first`;
}

export function machine(): string {
	return `${cpus().length} CPU (${cpus()[0]?.model.trim() ?? 'unknown'}), node ${process.version}`;
}

/**
 * The open-files limit (node raises its soft limit to the hard one at start-up, and children
 * inherit it) against an estimate of what the busiest process needs: an agent-host process holds
 * its share of listening sockets, its connections and the pipes of the scripts it runs.
 */
export function fileLimitNote(settings: Settings): {note: string; tooLow: boolean} {
	const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find(text => text.startsWith('Max open files')) ?? '';
	const [soft, hard] = line.replace('Max open files', '').trim().split(/\s+/).map(Number);
	const largest = Math.max(...settings.sizes);
	const needed = Math.ceil(largest / settings.workers) + (4 * Math.min(settings.parallel, largest)) + 100;
	const tooLow = (soft ?? 0) < needed;
	const note = `open files: soft ${soft}, hard ${hard}; the busiest host process needs about ${needed}`
		+ (tooLow ? ` — TOO LOW: run \`ulimit -n ${Math.max(4096, needed * 2)}\` (as root, or raise the hard limit) or set BENCH_WORKERS higher` : ' (enough)');
	return {note, tooLow};
}

/**
 * The loopback network of this bench process: 127.R.S.0/24 (all of 127.0.0.0/8 is loopback on
 * Linux), R and S drawn at start. freePortBlock probes a block and lets it go; the hosts bind it
 * minutes later (after minting a fleet of 10,000). Two benches at once on the same addresses
 * could both find a block free and collide (EADDRINUSE); on addresses of their own they cannot.
 */
const loopbackNetwork = `127.${1 + Math.floor(Math.random() * 254)}.${Math.floor(Math.random() * 256)}`;

/**
 * The floor's bare servers listen on this second loopback address, on the same port numbers as
 * the agents: 10,000 agents then need 10,000 ports, not 20,000, which would not fit below the
 * ephemeral range.
 */
export const floorHost = `${loopbackNetwork}.2`;

/**
 * The agents listen on a loopback address of their own: the project's tests and other programs on
 * a shared machine listen on 127.0.0.1, and a block of 10,000 free ports there was often not to
 * be had (a few listeners at 12067 leave no gap that size below 20000).
 */
export const agentHost = `${loopbackNetwork}.3`;

/**
 * A block of `count` free ports on agentHost and floorHost, its last `tail` ports (by default all)
 * free on 127.0.0.1 too (sshd, the idle-RSS agent, the delayed runs' proxies listen there), each probed
 * by listening on it, below the kernel's ephemeral range. The scan starts at a random place and
 * moves past each port it finds taken (wrapping around once), so a few listeners anywhere, or
 * another bench's block, cost a step rather than the run.
 */
export async function freePortBlock(count: number, tail = count): Promise<number> {
	const [ephemeralLow] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
	const top = ephemeralLow ?? 32_768;
	const bottom = 2048;
	const ceiling = top - count;
	if (ceiling < bottom) {
		throw new Error(`${count} ports do not fit between ${bottom} and ${top} on ${agentHost}: use fewer agents (BENCH_SIZES)`);
	}

	const start = bottom + Math.floor(Math.random() * (ceiling - bottom));
	for (let base = start, wrapped = false; !wrapped || base < start;) {
		const taken = await firstTaken(agentHost, base, count) ?? await firstTaken(floorHost, base, count) ?? await firstTaken('127.0.0.1', base + count - tail, tail);
		if (taken === undefined) {
			return base;
		}

		base = taken + 1;
		if (base > ceiling && !wrapped) {
			[base, wrapped] = [bottom, true];
		} else if (base > ceiling) {
			break;
		}
	}

	throw new Error(`found no ${count} free consecutive ports on ${agentHost} and ${floorHost} between ${bottom} and ${top}`);
}

/** The first of these ports something already listens on, if any. */
async function firstTaken(host: string, base: number, count: number): Promise<number | undefined> {
	const servers: Server[] = [];
	let port = base;
	try {
		for (; port < base + count; port++) {
			const server = createServer();
			servers.push(server);
			await new Promise<void>((resolve, reject) => {
				server.once('error', reject);
				server.listen(port, host, resolve);
			});
		}

		return undefined;
	} catch {
		return port;
	} finally {
		await Promise.all(servers.map(server => new Promise(resolve => {
			server.close(resolve);
		})));
	}
}
