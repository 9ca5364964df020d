/**
 * What keeping a relay run's signed result costs the agent per run, before the result is published:
 * kept by the audit record that ended the run (relay-end-records.ts: the check that the record says
 * what the result says, then memory only), against an append and an fsync on the results file held
 * open (relay-results-file.ts, as before), and an open, append, fsync and close per result. CPU time
 * per result (process.cpuUsage: the fsync's wait is not CPU) and wall time per result (the
 * synchronous fsync holds the agent's event loop: every other agent in that process waits), rounds
 * interleaved, medians, with the load average.
 *
 *   node --import=tsx bench/relay-results-keep.ts       BENCH_REPS (5) rounds of 300 results each way
 */
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {relayResultsMemory} from '../agent/relay-results-file.js';
import {RelayResults} from '../agent/relay-results.js';
import {RunEndRecords} from '../agent/relay-end-records.js';
import {notRun, resultFrame} from '../agent/run-exchange.js';
import {appendDurable} from '../source/io/durable-fs.js';
import {loadAverage} from './environment.js';
import {median} from './processes.js';

const count = 300;
const rounds = Number(process.env['BENCH_REPS'] ?? 5);
const home = mkdtempSync(join(tmpdir(), 'xi-exec-keep-'));
// A dry run's signed result is about 900 bytes on the wire.
const text = `{"env":${JSON.stringify({pad: 'x'.repeat(800)})},"sig":"MEUCIQ"}`;

/** CPU and wall µs per result. */
async function perResult(keep: (id: string, at: number) => void | Promise<void>): Promise<{cpu: number; wall: number}> {
	const before = process.cpuUsage();
	const started = performance.now();
	for (let index = 0; index < count; index++) {
		await keep(`bench-${String(index).padStart(8, '0')}`, Date.now());
	}

	const used = process.cpuUsage(before);
	return {cpu: (used.user + used.system) / count, wall: ((performance.now() - started) * 1000) / count};
}

/** A dry run's end: its decision recorded (on the disk at once here) naming the result's place, then the result checked against it. */
function byRecord(results: RelayResults): (id: string, at: number) => Promise<void> {
	const place = {req: 'a'.repeat(64), seq: 1, prev: 'a'.repeat(64)};
	const recorder = {record: async () => undefined, signedHead: () => undefined};
	return async (id, at) => {
		const records = new RunEndRecords(() => place, () => undefined);
		await records.wrap(recorder).record('decision', {requestId: id, allowed: true, reason: 'allowlisted; no auth hook configured', dryRun: true});
		if (!records.covers(resultFrame(id, notRun('ok', 'dry run: would run'), undefined), place)) {
			throw new Error('the end record does not cover the result');
		}

		results.keep(id, text, at);
	};
}

try {
	const load = loadAverage();
	const memory = relayResultsMemory(home, Date.now, 1_000_000);
	const results = new RelayResults(600_000, 100_000, memory.memory);
	memory.load(results);
	const samples = {before: [] as Array<{cpu: number; wall: number}>, held: [] as Array<{cpu: number; wall: number}>, record: [] as Array<{cpu: number; wall: number}>};
	for (let round = 0; round < rounds; round++) {
		samples.before.push(await perResult((id, at) => appendDurable(join(home, 'before'), `${JSON.stringify({at, id, text})}\n`, {mode: 0o600})));
		samples.held.push(await perResult((id, at) => results.remember(id, text, at)));
		samples.record.push(await perResult(byRecord(results)));
	}

	const of = (each: Array<{cpu: number; wall: number}>) => `${median(each.map(sample => sample.cpu)).toFixed(1)} µs CPU, ${median(each.map(sample => sample.wall)).toFixed(1)} µs wall`;
	process.stdout.write(`relay result kept, per result: open+append+fsync+close ${of(samples.before)}; file held open ${of(samples.held)}; by its end record ${of(samples.record)}; load ${load} → ${loadAverage()}\n`);
} finally {
	rmSync(home, {recursive: true, force: true});
}
