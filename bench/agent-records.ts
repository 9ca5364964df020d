/**
 * What an agent's records cost per run, without the network, the script or another process's
 * noise: the real start records (agent/start-records.ts, as `xi-exec-agent start` and the bench's
 * agent hosts open them) of one agent home, driven as a run drives them — the message id
 * remembered (fdatasync'd to seen-requests, or where the checkout has replay-receipts.ts carried by
 * the receipt), the home's modes checked, receipt and decision in one batch, the start
 * held, the end with its checkpoint (signed) and the anchor — one run after another. CPU per run
 * (process.cpuUsage: every thread, the fsyncs' waits are not CPU) and bytes allocated per run (V8's
 * sampling heap profiler, freed objects counted: heap-sample.ts; in runs of their own), the records' modules from the
 * checkout's dist/ as a real agent runs them (`npm run build` first), and the same for each
 * BENCH_BASE checkout (its own modules, its own copy of the home), rounds interleaved, medians.
 * Then the records' own work without the disk, steadier on a busy machine: ten times as many runs
 * planned only (batch-plan.ts: the records, their chain and text, the checkpoint's signature).
 * Last, the anchor alone (audit-head.json, written with each checkpoint), as each checkout writes
 * it: CPU and the time the event loop is blocked per write, rounds interleaved.
 *
 *   node --import=tsx bench/agent-records.ts        BENCH_REPS (11) rounds of BENCH_RUNS (300) runs each
 *   BENCH_BASE=DIR[,DIR]                            other checkouts of this repository, each with its node_modules
 *   BENCH_SITES (8)                                 the functions that allocate the most, per run, for each checkout
 */
import {cpSync, existsSync, mkdtempSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {staleDist} from './built-host.js';
import {runBench, trackPath} from './cleanup.js';
import {loadAverage, machine} from './environment.js';
import {createFleet} from './fleet.js';
import {startAllocationSampling} from './heap-sample.js';
import {median} from './processes.js';
import type {Anchor} from '../source/audit/anchor.js';

type Records = {run: (index: number) => Promise<void>; plan: (index: number) => void; anchor: (index: number) => void; close: () => Promise<void>};

const log = (text: string) => process.stderr.write(`agent-records: ${text}\n`);

/** One checkout's records on its own copy of the home: `run` records one run as executeRun does. */
async function openRecords(checkout: string, home: string): Promise<Records> {
	const stale = staleDist(checkout);
	if (stale) {
		throw new Error(`${join(checkout, 'dist')} is older than ${stale}: run \`npm run build\` in ${checkout} first`);
	}

	// The records' modules as a real agent runs them: the checkout's dist/ (`npm run build`), plain JavaScript.
	const built = (file: string) => join(checkout, 'dist', file);
	const {readAgentHome} = await import(join(checkout, 'bench/agent-home.ts')) as typeof import('./agent-home.js');
	const {openStartRecords} = await import(built('agent/start-records.js')) as typeof import('../agent/start-records.js');
	const {ReplayGuard} = await import(built('agent/replay-guard.js')) as typeof import('../agent/replay-guard.js');
	const {agentSigner} = await import(built('agent/agent-audit.js')) as typeof import('../agent/agent-audit.js');
	const {emptyChain, planRecords} = await import(built('source/audit/batch-plan.js')) as typeof import('../source/audit/batch-plan.js');
	const anchorFile = await import(built('source/audit/anchor-file.js')) as Partial<typeof import('../source/audit/anchor-file.js')> & Pick<typeof import('../source/audit/anchor-file.js'), 'writeAnchor'>;
	const {paths, config, pins} = await readAgentHome(home);
	const receipts = existsSync(built('agent/replay-receipts.js'));
	// The anchor as the agent writes it at each checkpoint: the slot writer where the checkout has one, else the file replaced whole.
	const anchorPath = join(home, 'bench-anchor.json');
	const slots = anchorFile.openAnchorWriter?.(anchorPath);
	const writeAnchor = slots ? slots.write : (anchor: Anchor) => {
		anchorFile.writeAnchor(anchorPath, anchor);
	};
	const ports = {side: 'agent' as const, now: () => new Date(), newLogId: () => 'bench-log', signer: agentSigner(paths), checkpointEvery: 256};
	let plan = {state: emptyChain, text: '', written: []};
	const records = await openStartRecords(paths, config, pins, () => undefined);
	const guard = new ReplayGuard(60_000, undefined, records.replayMemory.memory);
	records.replayMemory.load(guard);
	return {
		async run(index) {
			const requestId = `bench-${checkout.length}-${Date.now()}-${index}`;
			const now = Date.now();
			// Where the checkout keeps a run's message id in its receipt, the guard does not write it to seen-requests.
			if (!(receipts ? guard.check(requestId, now, now, false) : guard.check(requestId, now, now)).ok) {
				throw new Error(`replay guard refused ${requestId}`);
			}

			const logged = {requestId, agent: config.name, script: 'uptime', args: [], argsHash: 'a'.repeat(64), caller: 'bench@host', source: '127.0.0.1', controllerSerial: '0a1b2c3d'};
			const received = records.recorder.record('request.received', {...logged, dryRun: false, controllerHead: {log: 'c', seq: index, hash: 'b'.repeat(64), signature: 'sig', keyId: 'k'}, ...(receipts ? {msg: requestId} : {})});
			if (records.homeProblem() !== undefined) {
				throw new Error('the home is unsafe');
			}

			const decided = records.recorder.record('decision', {...logged, allowed: true, reason: 'allowlisted; no auth hook configured', dryRun: false});
			await Promise.all([received, decided]);
			const started = records.recorder.record('run.start', logged);
			await records.recorder.record('run.finish', {...logged, status: 'ok', exitCode: 0, signal: null, durationMs: 2, bytes: {stdout: 60, stderr: 0}, truncated: false});
			await started;
		},
		plan(index) {
			// A run's two batches as batch-file.ts plans them, without the file: the records' chain, text and checkpoint signature.
			const logged = {requestId: `bench-${index}`, agent: config.name, script: 'uptime', args: [], argsHash: 'a'.repeat(64), caller: 'bench@host', source: '127.0.0.1', controllerSerial: '0a1b2c3d'};
			const first = planRecords(plan, [{...logged, event: 'request.received', dryRun: false, controllerHead: {log: 'c', seq: index, hash: 'b'.repeat(64), signature: 'sig', keyId: 'k'}}, {...logged, event: 'decision', allowed: true, reason: 'allowlisted; no auth hook configured', dryRun: false}], ports);
			const second = planRecords({state: first.state, text: '', written: []}, [{...logged, event: 'run.start'}, {...logged, event: 'run.finish', status: 'ok', exitCode: 0, signal: null, durationMs: 2, bytes: {stdout: 60, stderr: 0}, truncated: false}, 'checkpoint'], ports);
			plan = {state: second.state, text: '', written: []};
		},
		anchor(index) {
			writeAnchor({version: 1, log: 'bench-log', seq: index, hash: 'c'.repeat(64), at: new Date().toISOString()});
		},
		async close() {
			slots?.close();
			await records.audit.close();
		},
	};
}

/** CPU and time the event loop is blocked (the write is synchronous) per anchor write, in µs, for each kind: interleaved rounds. */
function anchorWrites(kinds: ReadonlyArray<{records: Records}>, rounds: number, writes: number): Array<{cpu: number[]; blocked: number[]}> {
	const samples = kinds.map(() => ({cpu: [] as number[], blocked: [] as number[]}));
	for (let round = 0; round < rounds; round++) {
		for (const [index, kind] of kinds.entries()) {
			let blocked = 0;
			const before = process.cpuUsage();
			for (let write = 0; write < writes; write++) {
				const start = performance.now();
				kind.records.anchor((round * writes) + write);
				blocked += performance.now() - start;
			}

			const used = process.cpuUsage(before);
			samples[index]!.cpu.push((used.user + used.system) / writes);
			samples[index]!.blocked.push((blocked * 1000) / writes);
		}
	}

	return samples;
}

async function main(): Promise<number> {
	const runs = Number(process.env['BENCH_RUNS'] ?? 300);
	const rounds = Number(process.env['BENCH_REPS'] ?? 11);
	const checkouts = [process.cwd(), ...(process.env['BENCH_BASE']?.split(',').filter(Boolean) ?? [])];
	const root = trackPath(mkdtempSync(join(tmpdir(), 'xi-exec-agent-records-')));
	const fleet = await createFleet(join(root, 'fleet'), 1, 1, log);
	const kinds: Array<{checkout: string; records: Records; samples: number[]; bytes: number[]; sites: Map<string, number>}> = [];
	for (const [index, checkout] of checkouts.entries()) {
		const home = join(root, `home-${index}`);
		cpSync(fleet.agents[0]!.home, home, {recursive: true});
		kinds.push({checkout, records: await openRecords(checkout, home), samples: [], bytes: [], sites: new Map()});
	}

	const load = loadAverage();
	for (const kind of kinds) {
		for (let index = 0; index < 50; index++) {
			await kind.records.run(index);
		}
	}

	for (let round = 0; round < rounds; round++) {
		for (const kind of kinds) {
			const before = process.cpuUsage();
			for (let index = 0; index < runs; index++) {
				await kind.records.run((2 * round * runs) + index);
			}

			const used = process.cpuUsage(before);
			kind.samples.push((used.user + used.system) / runs);
			// Then bytes allocated (freed or not), by the sampling heap profiler, in runs of their own (its samples cost CPU).
			const stop = await startAllocationSampling(512);
			for (let index = 0; index < runs; index++) {
				await kind.records.run((((2 * round) + 1) * runs) + index);
			}

			const allocated = await stop();
			kind.bytes.push(allocated.bytes / runs);
			for (const {site, bytes} of allocated.sites) {
				kind.sites.set(site, (kind.sites.get(site) ?? 0) + (bytes / runs / rounds));
			}
		}
	}

	// The records' own work without the disk: the same runs planned only, many more of them.
	const planned = kinds.map(() => [] as number[]);
	for (let round = 0; round < rounds; round++) {
		for (const [index, kind] of kinds.entries()) {
			const before = process.cpuUsage();
			for (let run = 0; run < runs * 10; run++) {
				kind.records.plan(run);
			}

			const used = process.cpuUsage(before);
			planned[index]!.push((used.user + used.system) / (runs * 10));
		}
	}

	const anchors = anchorWrites(kinds, rounds, Math.max(20, Math.round(runs / 3)));
	await Promise.all(kinds.map(async kind => kind.records.close()));
	process.stdout.write(`Agent records per run — ${machine()}; ${rounds} interleaved rounds of ${runs} runs; load ${load} at start, ${loadAverage()} at end\n`);
	for (const kind of kinds) {
		const sorted = [...kind.samples].sort((a, b) => a - b);
		const against = kind === kinds[0] ? '' : `; this checkout's median ${(median(kinds[0]!.samples) / median(kind.samples)).toFixed(3)}× of it, lowest ${(Math.min(...kinds[0]!.samples) / sorted[0]!).toFixed(3)}×`;
		const bytes = kind === kinds[0] ? '' : `, bytes ${(median(kinds[0]!.bytes) / median(kind.bytes)).toFixed(3)}×`;
		process.stdout.write(`  ${kind.checkout}: median ${median(kind.samples).toFixed(0)} µs CPU and ${(median(kind.bytes) / 1024).toFixed(1)} KB allocated per run, lowest ${sorted[0]!.toFixed(0)} µs (rounds ${sorted.map(sample => sample.toFixed(0)).join(', ')})${against}${bytes}\n`);
	}

	for (const kind of kinds) {
		const top = [...kind.sites].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env['BENCH_SITES'] ?? 8));
		process.stdout.write(`  ${kind.checkout}, where the bytes are allocated per run: ${top.map(([site, bytes]) => `${site} ${(bytes / 1024).toFixed(1)} KB`).join('; ')}\n`);
	}

	for (const [index, kind] of kinds.entries()) {
		const samples = planned[index]!;
		const against = index === 0 ? '' : `; this checkout's median ${(median(planned[0]!) / median(samples)).toFixed(3)}× of it, lowest ${(Math.min(...planned[0]!) / Math.min(...samples)).toFixed(3)}×`;
		process.stdout.write(`  ${kind.checkout}, planned only (records, chain, text, signature; no disk): median ${median(samples).toFixed(1)} µs CPU per run, lowest ${Math.min(...samples).toFixed(1)}${against}\n`);
	}

	for (const [index, kind] of kinds.entries()) {
		const {cpu, blocked} = anchors[index]!;
		const against = index === 0 ? '' : `; this checkout's median CPU ${(median(anchors[0]!.cpu) / median(cpu)).toFixed(3)}× of it, blocked ${(median(anchors[0]!.blocked) / median(blocked)).toFixed(3)}×`;
		process.stdout.write(`  ${kind.checkout}, the anchor alone (audit-head.json as each checkpoint writes it): median ${median(cpu).toFixed(1)} µs CPU per write (lowest ${Math.min(...cpu).toFixed(1)}), loop blocked ${median(blocked).toFixed(0)} µs per write (lowest ${Math.min(...blocked).toFixed(0)})${against}\n`);
	}

	return 0;
}

await runBench(main, log);
