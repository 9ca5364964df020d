/**
 * One read of a large registry with its seen journal (registry/store.ts, registry/seen.ts), this
 * checkout's build against BENCH_BASE's (another built checkout), interleaved in one process: the
 * CPU and the bytes allocated (V8's sampling heap profiler, freed objects kept) per agent. A run
 * reads the registry twice (its plan, its dispatch); after a run's lastSeen lines the journal
 * names every agent, so each read lays it over every record.
 *
 *   nice -n 10 node --import=tsx bench/registry-read.ts
 *
 * Settings: BENCH_SIZES (10000), BENCH_REPS (7), BENCH_JOURNAL (20: the journal's lines, each a
 * run that saw every agent), BENCH_BASE=DIR.
 */
import {mkdtempSync, writeFileSync} from 'node:fs';
import {Session} from 'node:inspector/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {runBench, trackPath} from './cleanup.js';
import {loadAverage, machine} from './environment.js';
import {repoRoot} from './hosts.js';
import {median} from './processes.js';

type Store = {read: () => Promise<{agents: unknown[]}>};
type Side = {label: string; open: (path: string) => Store};

const log = (text: string) => process.stderr.write(`registry-read: ${text}\n`);
const pem = (index: number) => `-----BEGIN CERTIFICATE-----\n${`${index}`.padStart(8, '0').repeat(80).slice(0, 700)}\n-----END CERTIFICATE-----`;

function writeRegistry(directory: string, size: number, journalLines: number): string {
	const path = join(directory, `registry-${size}.json`);
	const paired = '2026-01-01T00:00:00.000Z';
	const agents = Array.from({length: size}, (_, index) => ({name: `bench-${index}`, address: `10.0.${index >> 8}.${index & 255}:7443`, tags: {bench: 'yes'}, serial: index.toString(16).padStart(32, '0'), fingerprint: 'ab'.repeat(32), certificateIssued: paired, certificateExpires: '2027-01-01T00:00:00.000Z', certificate: pem(index), pairedAt: paired, lastSeen: '2026-06-01T00:00:00.000Z', lastSeenVia: 'tls'}));
	writeFileSync(path, JSON.stringify({version: 1, agents}, null, '\t') + '\n');
	const names = agents.map(agent => agent.name);
	const lines = Array.from({length: journalLines}, (_, line) => `${JSON.stringify({at: new Date(Date.parse('2026-12-01T00:00:00.000Z') + (line * 60_000)).toISOString(), agents: names, via: 'tls'})}\n`);
	writeFileSync(join(directory, `registry-${size}.seen.jsonl`), lines.join(''));
	return path;
}

async function sample(session: Session, side: Side, path: string): Promise<{cpuMs: number; bytes: number}> {
	await session.post('HeapProfiler.startSampling', {samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true} as never);
	const before = process.cpuUsage();
	const registry = await side.open(path).read();
	const used = process.cpuUsage(before);
	const {profile} = await session.post('HeapProfiler.stopSampling') as unknown as {profile: {head: {selfSize: number; children: unknown[]}}};
	let bytes = 0;
	const walk = (node: {selfSize: number; children: unknown[]}) => {
		bytes += node.selfSize;
		for (const child of node.children) {
			walk(child as typeof node);
		}
	};

	walk(profile.head);
	if (registry.agents.length === 0) {
		throw new Error('read no agents');
	}

	return {cpuMs: (used.user + used.system) / 1000, bytes};
}

async function main(): Promise<number> {
	const sizes = (process.env['BENCH_SIZES'] || '10000').split(',').map(Number);
	const reps = Number(process.env['BENCH_REPS'] || 7);
	const journal = Number(process.env['BENCH_JOURNAL'] || 20);
	const checkouts = [{label: 'this checkout', root: repoRoot}, ...(process.env['BENCH_BASE'] ? [{label: 'BENCH_BASE', root: process.env['BENCH_BASE']}] : [])];
	const sides: Side[] = await Promise.all(checkouts.map(async ({label, root}) => {
		const {openRegistryStore} = await import(join(root, 'dist/source/registry/store.js')) as {openRegistryStore: (path: string) => Store};
		return {label, open: openRegistryStore};
	}));
	const session = new Session();
	session.connect();
	await session.post('HeapProfiler.enable');
	const directory = trackPath(mkdtempSync(join(tmpdir(), 'xi-exec-registry-read-')));
	const lines = [`registry read, ${journal} journal lines each naming every agent; ${machine()}`, `uptime at start: ${loadAverage()}`];
	for (const size of sizes) {
		const path = writeRegistry(directory, size, journal);
		const samples = sides.map((): Array<{cpuMs: number; bytes: number}> => []);
		for (let round = 0; round < reps + 1; round++) {
			const order = round % 2 === 0 ? sides.map((_, index) => index) : sides.map((_, index) => sides.length - 1 - index);
			for (const index of order) {
				(globalThis as {gc?: () => void}).gc?.();
				const taken = await sample(session, sides[index]!, path);
				if (round > 0) {
					samples[index]!.push(taken);
				}
			}
		}

		for (const [index, side] of sides.entries()) {
			const cpu = median(samples[index]!.map(taken => taken.cpuMs));
			const bytes = median(samples[index]!.map(taken => taken.bytes));
			lines.push(`N=${size} ${side.label}: CPU ${cpu.toFixed(1)} ms a read (${(cpu * 1000 / size).toFixed(2)} us/agent; ${samples[index]!.map(taken => taken.cpuMs.toFixed(0)).join(', ')}), allocated ${(bytes / size / 1024).toFixed(2)} KB/agent`);
		}
	}

	lines.push(`uptime at end: ${loadAverage()}`);
	process.stdout.write(lines.join('\n') + '\n');
	return 0;
}

await runBench(main, log);
