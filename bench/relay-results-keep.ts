/**
 * What keeping a relay run's signed result on disk costs the agent per run (relay-results-file.ts,
 * before the result is published): an append and an fsync on a file held open, against an open,
 * append, fsync and close per result (appendDurable, as before). CPU time per result
 * (process.cpuUsage: the fsync's wait is not CPU), rounds interleaved, medians, with the load average.
 *
 *   node --import=tsx bench/relay-results-keep.ts       BENCH_REPS (5) rounds of 300 results each way
 */
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {relayResultsMemory} from '../agent/relay-results-file.js';
import {RelayResults} from '../agent/relay-results.js';
import {appendDurable} from '../source/io/durable-fs.js';
import {loadAverage} from './environment.js';
import {median} from './processes.js';

const count = 300;
const rounds = Number(process.env['BENCH_REPS'] ?? 5);
const home = mkdtempSync(join(tmpdir(), 'xi-exec-keep-'));
// A dry run's signed result is about 900 bytes on the wire.
const text = `{"env":${JSON.stringify({pad: 'x'.repeat(800)})},"sig":"MEUCIQ"}`;

function perResult(keep: (id: string, at: number) => void): number {
	const before = process.cpuUsage();
	for (let index = 0; index < count; index++) {
		keep(`bench-${String(index).padStart(8, '0')}`, Date.now());
	}

	const used = process.cpuUsage(before);
	return (used.user + used.system) / count;
}

try {
	const load = loadAverage();
	const memory = relayResultsMemory(home, Date.now, 1_000_000);
	const results = new RelayResults(600_000, 100_000, memory.memory);
	memory.load(results);
	const samples = {before: [] as number[], held: [] as number[]};
	for (let round = 0; round < rounds; round++) {
		samples.before.push(perResult((id, at) => appendDurable(join(home, 'before'), `${JSON.stringify({at, id, text})}\n`, {mode: 0o600})));
		samples.held.push(perResult((id, at) => results.remember(id, text, at)));
	}

	const [before, held] = [median(samples.before), median(samples.held)];
	process.stdout.write(`relay result kept on disk, CPU per result: open+append+fsync+close ${before.toFixed(1)} µs, held open ${held.toFixed(1)} µs (${(before - held).toFixed(1)} µs less, ${(before / held).toFixed(2)}×); load ${load}\n`);
} finally {
	rmSync(home, {recursive: true, force: true});
}
