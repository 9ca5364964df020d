/**
 * What a run's history file costs the controller's main thread per host: startRunFile's header, an
 * output line and a result line for each host (what run-execute.ts writes for `uptime`), the end
 * line, on the real file system in a temporary directory. CPU per host (process.cpuUsage) and the
 * system calls' share (its system time), medians of interleaved rounds, with the load.
 *
 * With BENCH_BASE=DIR[,DIR...] (other checkouts of this repository) each checkout's own
 * source/history/run-store.ts writes the same runs in the same rounds: a change's effect, one run.
 *
 *   node --expose-gc --import=tsx bench/history-writes.ts      BENCH_SIZES (100,1000), BENCH_REPS (9)
 */
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import {pathToFileURL} from 'node:url';
import type {HistoryLine, RunHeader} from '../source/history/run-record.js';
import {loadAverage} from './environment.js';
import {repoRoot} from './hosts.js';
import {interleavedRounds} from './interleaved-rounds.js';
import {median} from './processes.js';

type Writer = {write: (line: HistoryLine) => void};
type Store = {startRunFile: (directory: string, header: RunHeader) => Writer};
type Sample = {cpuUs: number; systemUs: number; failure?: string};

const sizes = (process.env['BENCH_SIZES'] ?? '100,1000').split(',').map(Number);
const rounds = Number(process.env['BENCH_REPS'] ?? 9);
const checkouts = [repoRoot, ...(process.env['BENCH_BASE']?.split(',').filter(Boolean).map(directory => resolve(directory)) ?? [])];
const stores = await Promise.all(checkouts.map(async checkout => import(pathToFileURL(join(checkout, 'source/history/run-store.ts')).href) as Promise<Store>));
const root = mkdtempSync(join(tmpdir(), 'xi-exec-history-writes-'));
const output = ' 10:00:00 up 1 day,  1 user,  load average: 0.00, 0.00, 0.00\n';
let runs = 0;

function writeRun(store: Store, size: number): Sample {
	const hosts = Array.from({length: size}, (_, index) => `host-${String(index).padStart(5, '0')}`);
	const requestId = `00000000-0000-4000-8000-${String(++runs).padStart(12, '0')}`;
	const directory = join(root, String(runs));
	const before = process.cpuUsage();
	const writer = store.startRunFile(directory, {type: 'run', requestId, script: 'uptime', args: [], selector: ['all'], caller: 'bench', startedAt: new Date().toISOString(), targets: hosts});
	for (const agent of hosts) {
		writer.write({type: 'output', agent, stream: 'stdout', data: output});
		writer.write({type: 'result', result: {agent, status: 'ok', exitCode: 0, durationMs: 12} as never});
	}

	writer.write({type: 'end', endedAt: new Date().toISOString()});
	const used = process.cpuUsage(before);
	rmSync(directory, {recursive: true, force: true});
	return {cpuUs: (used.user + used.system) / size, systemUs: used.system / size};
}

const notes: string[] = [];
process.stdout.write(`history writes per host, medians of ${rounds} interleaved rounds; load at start ${loadAverage()}\n`);
for (const size of sizes) {
	const kinds = stores.map((store, index) => ({label: index === 0 ? 'this checkout' : checkouts[index]!, run: async () => writeRun(store, size)}));
	const samples = await interleavedRounds(kinds, size, rounds, notes);
	for (const [index, kind] of kinds.entries()) {
		const cpu = samples[index]!.map(sample => sample.cpuUs);
		process.stdout.write(`N=${size} ${kind.label}: ${median(cpu).toFixed(1)} µs CPU per host (${median(samples[index]!.map(sample => sample.systemUs)).toFixed(1)} system; rounds ${Math.min(...cpu).toFixed(1)}–${Math.max(...cpu).toFixed(1)}); load ${loadAverage()}\n`);
	}
}

rmSync(root, {recursive: true, force: true});
