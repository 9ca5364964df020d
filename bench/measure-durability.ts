/**
 * What durable state writes cost (source/io/durable-fs.ts): the same writes through the real fs
 * port and through one whose fsync does nothing (what the code did before: ordered only as far as
 * the page cache), interleaved, median of `runs`:
 *
 *   - 200 parallel appends to an audit log (batched as they come: one fsync per batch);
 *   - the state writes of a 100-host run, in the order a run makes them: the request record and
 *     its checkpoint (asked together: one batch), the history header, per host an output line, a
 *     result line and an outcome record (appended together, as hosts finish), the end line, the
 *     closing checkpoint and the lastSeen line appended to the registry's journal;
 *   - the registry's lastSeen after a run on every host of a registry of 100 and 1000 agents
 *     (real certificates' size), through the real store: the locked whole-file rewrite the run
 *     made before against the journal line it appends now (registry/store.ts);
 *   - reading that registry of 1000 agents (with a journal line) in a fresh store, as a run's first
 *     read does, against reading it again unchanged, as its second does (io/locked-json-store.ts).
 *
 * Run alone: node --import=tsx bench/measure-durability.ts
 */
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {performance} from 'node:perf_hooks';
import {pathToFileURL} from 'node:url';
import {signerFromPem} from '../source/audit/checkpoint.js';
import {openAuditLog} from '../source/audit/file-log.js';
import {startRunFile} from '../source/history/run-store.js';
import {appendDurable, nodeFs, type DurableFs} from '../source/io/durable-fs.js';
import {markSeen, type AgentRecord} from '../source/registry/model.js';
import {seenLine} from '../source/registry/seen.js';
import {createRegistryFile, openRegistryStore} from '../source/registry/store.js';
import {generateKeyPair, privateKeyToPem} from '../source/pki/keys.js';
import {median} from './processes.js';
import type {Report} from './report.js';
import {ratio} from './table.js';

const pageCacheOnly: DurableFs = {...nodeFs, fsync() {}};

type Signer = Parameters<typeof openAuditLog>[0]['signer'];

async function parallelAppends(directory: string, signer: Signer, fs: DurableFs): Promise<number> {
	const log = openAuditLog({path: join(directory, 'audit.jsonl'), side: 'controller', signer, fs});
	const started = performance.now();
	await Promise.all(Array.from({length: 200}, async (_, index) => log.append({event: 'bench.append', index})));
	const ms = performance.now() - started;
	await log.close();
	return ms;
}

async function hundredHostRun(directory: string, signer: Signer, fs: DurableFs): Promise<number> {
	const hosts = Array.from({length: 100}, (_, index) => `host-${String(index).padStart(3, '0')}`);
	const log = openAuditLog({path: join(directory, 'audit.jsonl'), side: 'controller', signer, fs});
	const requestId = '00000000-0000-4000-8000-000000000100';
	const started = performance.now();
	await Promise.all([log.append({event: 'run.request', requestId, script: 'uptime', targets: hosts}), log.checkpoint()]);
	const history = startRunFile(join(directory, 'runs'), {type: 'run', requestId, script: 'uptime', args: [], selector: ['all'], caller: 'bench', startedAt: new Date().toISOString(), targets: hosts}, fs);
	const outcomes = hosts.map(async agent => {
		history.write({type: 'output', agent, stream: 'stdout', data: ' 10:00:00 up 1 day,  1 user,  load average: 0.00, 0.00, 0.00\n'});
		history.write({type: 'result', result: {agent, status: 'ok', exitCode: 0, durationMs: 12} as never});
		return log.append({event: 'run.outcome', requestId, agent, status: 'ok', exitCode: 0});
	});
	await Promise.all(outcomes);
	history.write({type: 'end', endedAt: new Date().toISOString()});
	await log.close();
	appendDurable(join(directory, 'registry.seen.jsonl'), seenLine(hosts, new Date().toISOString()), {mode: 0o644, created: true}, fs);
	return performance.now() - started;
}

/** A registry of `size` agents with certificates of a real one's size (about 1.3 KB of PEM). */
async function registryOf(directory: string, size: number) {
	const path = join(directory, 'registry.json');
	await createRegistryFile(path);
	const store = openRegistryStore(path);
	const agents: AgentRecord[] = Array.from({length: size}, (_, index) => ({name: `host-${index}`, address: `127.0.0.1:${20_000 + index}`, tags: {role: 'web'}, serial: 'ab'.repeat(10), fingerprint: 'cd'.repeat(32), certificateIssued: '2026-01-01T00:00:00.000Z', certificateExpires: '2030-01-01T00:00:00.000Z', certificate: 'x'.repeat(1300), pairedAt: '2026-01-01T00:00:00.000Z'}));
	await store.update(registry => ({...registry, agents}));
	return {store, names: agents.map(agent => agent.name)};
}

/** lastSeen for every agent after a run: the locked rewrite (before) or the journal line (now). */
async function lastSeen(directory: string, size: number, how: 'rewrite' | 'journal'): Promise<number> {
	const {store, names} = await registryOf(directory, size);
	// An earlier run's line: the journal exists, as it does from a home's second run on.
	await store.markSeen(names, new Date(Date.now() - 60_000).toISOString());
	const at = new Date().toISOString();
	const started = performance.now();
	await (how === 'rewrite' ? store.update(registry => markSeen(registry, names, at)) : store.markSeen(names, at));
	return performance.now() - started;
}

/** A run's two registry reads: the first in a fresh store (a new process), the second of the unchanged file. */
async function registryReads(directory: string, size: number): Promise<{first: number; again: number}> {
	const {store, names} = await registryOf(directory, size);
	await store.markSeen(names, new Date().toISOString());
	const reader = openRegistryStore(join(directory, 'registry.json'));
	let started = performance.now();
	await reader.read();
	const first = performance.now() - started;
	started = performance.now();
	await reader.read();
	return {first, again: performance.now() - started};
}

export type DurabilityCost = {appends: {durable: number; pageCache: number}; run: {durable: number; pageCache: number}; lastSeen: Array<{size: number; rewrite: number; journal: number}>; reads: {size: number; first: number; again: number}};

const lastSeenSizes = [100, 1000];
const readSize = 1000;

export async function measureDurability(root: string, runs: number): Promise<DurabilityCost> {
	const pair = await generateKeyPair();
	const signer = signerFromPem('bench', await privateKeyToPem(pair.privateKey));
	const samples = {appendsDurable: [] as number[], appendsCache: [] as number[], runDurable: [] as number[], runCache: [] as number[], rewrite: lastSeenSizes.map(() => [] as number[]), journal: lastSeenSizes.map(() => [] as number[]), firstRead: [] as number[], readAgain: [] as number[]};
	let count = 0;
	const fresh = () => mkdtempSync(join(root, `durability-${count++}-`));
	for (let run = 0; run < runs; run++) {
		samples.appendsDurable.push(await parallelAppends(fresh(), signer, nodeFs));
		samples.appendsCache.push(await parallelAppends(fresh(), signer, pageCacheOnly));
		samples.runDurable.push(await hundredHostRun(fresh(), signer, nodeFs));
		samples.runCache.push(await hundredHostRun(fresh(), signer, pageCacheOnly));
		for (const [index, size] of lastSeenSizes.entries()) {
			samples.rewrite[index]!.push(await lastSeen(fresh(), size, 'rewrite'));
			samples.journal[index]!.push(await lastSeen(fresh(), size, 'journal'));
		}

		const reads = await registryReads(fresh(), readSize);
		samples.firstRead.push(reads.first);
		samples.readAgain.push(reads.again);
	}

	return {
		appends: {durable: median(samples.appendsDurable), pageCache: median(samples.appendsCache)},
		run: {durable: median(samples.runDurable), pageCache: median(samples.runCache)},
		lastSeen: lastSeenSizes.map((size, index) => ({size, rewrite: median(samples.rewrite[index]!), journal: median(samples.journal[index]!)})),
		reads: {size: readSize, first: median(samples.firstRead), again: median(samples.readAgain)},
	};
}

const ms = (value: number) => `${value.toFixed(1)} ms`;

/** Adds the rows; `cliRun100Ms` (the real CLI on 100 agents) puts the run's extra cost in proportion. */
export function reportDurability(report: Report, cost: DurabilityCost, cliRun100Ms?: number): void {
	const extra = cost.run.durable - cost.run.pageCache;
	report.rows.push(
		{measure: 'durable writes: 200 parallel audit appends', value: ms(cost.appends.durable), ratio: `${ratio(cost.appends.durable / cost.appends.pageCache)} page cache only (${ms(cost.appends.pageCache)})`},
		{measure: 'durable writes: a 100-host run\'s state writes', value: ms(cost.run.durable), ratio: `${ratio(cost.run.durable / cost.run.pageCache)} page cache only (${ms(cost.run.pageCache)})${cliRun100Ms === undefined ? '' : `; +${ms(extra)} = ${((extra / cliRun100Ms) * 100).toFixed(1)}% of a CLI run on 100 agents`}`},
		...cost.lastSeen.map(({size, rewrite, journal}) => ({measure: `registry lastSeen after a run, ${size} agents: journal line`, value: ms(journal), ratio: `${ratio(journal / rewrite)} the locked rewrite (${ms(rewrite)})`})),
		{measure: `registry read again unchanged (a run's second read), ${cost.reads.size} agents`, value: ms(cost.reads.again), ratio: `${ratio(cost.reads.again / cost.reads.first)} the first read (${ms(cost.reads.first)})`},
	);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
	const root = mkdtempSync(join(tmpdir(), 'xi-exec-durability-'));
	try {
		const cost = await measureDurability(root, Number(process.env['BENCH_REPS'] ?? 5));
		const report: Report = {rows: [], notes: []};
		reportDurability(report, cost);
		for (const row of report.rows) {
			process.stdout.write(`${row.measure}: ${row.value} (${row.ratio ?? ''})\n`);
		}
	} finally {
		rmSync(root, {recursive: true, force: true});
	}
}
