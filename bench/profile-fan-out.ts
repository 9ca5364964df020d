/**
 * Where a fan-out's CPU goes: the dispatcher on N agents against the floor (bare mutual TLS and a
 * spawn per connection), runs interleaved, each side's CPU apart — the controller side (this
 * process) and the agent side (the host processes with the scripts they ran) — per host and as a
 * ratio to the floor's same side. Faster to repeat than `npm run bench`, for one change at a time.
 *
 * With BENCH_BASE=DIR[,DIR...] (other checkouts of this repository, each with its node_modules),
 * the same rounds also run each checkout's dispatcher against that checkout's agents (their own
 * host processes, the same certificates): a change's effect on both sides, measured in one run.
 *
 *   node --expose-gc --import=tsx bench/profile-fan-out.ts
 *
 * Settings: BENCH_SIZES (100), BENCH_REPS (7), BENCH_WORKERS (4), BENCH_PARALLEL (256), BENCH_SPAWN=0
 * (dry runs: every check on the agent, no script; the floor writes one line), BENCH_BASE=DIR[,DIR],
 * BENCH_PROFILE=DIR (V8 CPU profiles of the host processes; `node --cpu-prof` for this process's),
 * BENCH_AGENT_FLAGS="FLAG ..." (node flags for this checkout's agent hosts only, not BENCH_BASE's),
 * BENCH_HEAP=1 (after the rounds, one more run of each kind with V8's sampling heap profiler: the
 * controller's bytes allocated per host, freed or not, and the BENCH_HEAP_SITES (12) functions that allocate the most),
 * BENCH_FLOOR_PROTOCOL=1 (one more kind: the floor's client and bare hosts exchanging the protocol's
 * messages, a request line one way and started, output and result lines the other, in as many
 * writes as an agent makes, with no checks and no records: what the messages themselves cost),
 * BENCH_DIST=1 (one more kind: the dispatcher as `npm run build` compiled it, dist/, on the same
 * agents: what a user runs. The other kinds load source/ through tsx, whose esbuild transform keeps
 * function names with a __name(fn, "name") call at every closure made, which the build does not;
 * with BENCH_BASE, each checkout's dist/ on its own agents too: build against build; BENCH_TSX=0
 * leaves out the kinds through tsx, this checkout's and each base's, for a shorter run of the build's),
 * BENCH_PERF_WINDOWS=1 (after the rounds, one more run of each kind, each kind's time window noted
 * in perf's CLOCK_MONOTONIC seconds: run the bench under `perf record -N -k CLOCK_MONOTONIC -g` with
 * node's --perf-basic-prof and read each kind apart with `perf report --time START,END`. perf counts
 * time on the CPU; V8's own sampling profiler counts wall time, which a loaded machine distorts).
 */
import {randomUUID} from 'node:crypto';
import {mkdtempSync, readFileSync} from 'node:fs';
import type {ChildProcess} from 'node:child_process';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {performance} from 'node:perf_hooks';
import type {TlsCredentials} from '../source/pki/credentials.js';
import type {AgentRecord} from '../source/registry/model.js';
import {createClientContext} from '../source/dispatch/agent-connection.js';
import {runBench, trackPath} from './cleanup.js';
import {buildNotes, floorHost, freePortBlock, loadAverage, machine, readSettings} from './environment.js';
import {benchHandshakeTimeoutMs, createFleet, script} from './fleet.js';
import {floorFanOut, type FanOutTiming} from './floor.js';
import {cpuMs, dealRoundRobin, ownCpuMs, repoRoot, startHosts, type Hosts} from './hosts.js';
import {dispatcherFanOut} from './ours.js';
import {interleavedRounds, profileReport} from './interleaved-rounds.js';
import {median} from './processes.js';
import {ratio, seconds, type Row} from './table.js';
import {startAllocationSampling} from './heap-sample.js';

const log = (text: string) => process.stderr.write(`profile: ${text}\n`);

/** `scripts`: the part of `agents` the scripts used (the host processes' reaped children), the rest being the hosts' own. */
type Sample = {ms: number; controller: number; agents: number; scripts: number; failure?: string};
type Kind = {label: string; run: (size: number) => Promise<Sample>};

/** CPU time of these processes' waited-for children (the scripts they ran), in ms: /proc/PID/stat fields 16-17. */
function childrenCpuMs(processes: readonly ChildProcess[]): number {
	let ticks = 0;
	for (const child of processes) {
		const stat = readFileSync(`/proc/${child.pid!}/stat`, 'utf8');
		const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
		ticks += Number(fields[13]) + Number(fields[14]);
	}

	return ticks * 10;
}

async function sampled(hosts: Hosts, run: () => Promise<FanOutTiming>): Promise<Sample> {
	const ownBefore = ownCpuMs();
	const hostsBefore = cpuMs(hosts.processes);
	const scriptsBefore = childrenCpuMs(hosts.processes);
	const timing = await run();
	const controller = ownCpuMs() - ownBefore;
	const agents = cpuMs(hosts.processes) - hostsBefore;
	const scripts = childrenCpuMs(hosts.processes) - scriptsBefore;
	return {ms: timing.ms, controller, agents, scripts, ...(timing.failures.length > 0 ? {failure: `${timing.failures.length} not ok, e.g. ${timing.failures[0]}`} : {})};
}

const floorIndex = (kinds: readonly Kind[]) => kinds.findIndex(kind => kind.label === 'floor');

/** One more run of each kind at `size`, its allocations sampled: a row per kind (KB per host, the ratio to the floor's) and its top sites as a note. */
async function allocationRows(kinds: readonly Kind[], size: number, notes: string[]): Promise<Row[]> {
	const perHost: number[] = [];
	const collections: string[] = [];
	for (const kind of kinds) {
		(globalThis as {gc?: () => void}).gc?.();
		const stop = await startAllocationSampling();
		await kind.run(size);
		const {bytes, sites, young, full, pauseMs} = await stop();
		perHost.push(bytes / size / 1024);
		collections.push(`GC ${young} young, ${full} full, pauses ${(pauseMs / size * 1000).toFixed(0)} µs/host`);
		notes.push(`N=${size} ${kind.label}, allocated per host by site: ${sites.slice(0, Number(process.env['BENCH_HEAP_SITES'] ?? 12)).map(each => `${each.site} ${(each.bytes / size / 1024).toFixed(2)} KB`).join('; ')}`);
	}

	return kinds.map((kind, index) => ({
		measure: `N=${size}: ${kind.label}, allocated`,
		value: `${perHost[index]!.toFixed(1)} KB/host`,
		cpu: collections[index]!,
		ratio: kind.label === 'floor' ? '' : ratio(perHost[index]! / perHost[floorIndex(kinds)]!),
	}));
}

/** One more run of each kind at `size`, each one's window noted for perf (CLOCK_MONOTONIC seconds, as process.hrtime) with its own CPU. */
async function perfWindows(kinds: readonly Kind[], size: number, notes: string[]): Promise<void> {
	const now = () => (Number(process.hrtime.bigint()) / 1e9).toFixed(6);
	for (const kind of kinds) {
		(globalThis as {gc?: () => void}).gc?.();
		const start = now();
		const sample = await kind.run(size);
		notes.push(`N=${size} ${kind.label}: perf report --time ${start},${now()} (controller CPU ${(sample.controller / size).toFixed(2)} ms/host, load ${loadAverage()})`);
	}
}

/**
 * The dispatcher of this checkout's dist/ on `targets`, called as bench/ours.ts dispatcherFanOut
 * calls the one in source/ (one client context per run, the bench's time limits, a dry run or not).
 */
async function builtFanOut(targets: readonly AgentRecord[], credentials: TlsCredentials, parallel: number, dryRun: boolean, checkout = repoRoot): Promise<FanOutTiming> {
	const built = join(checkout, 'dist/source/dispatch');
	const {dispatch} = await import(join(built, 'dispatcher.js')) as typeof import('../source/dispatch/dispatcher.js');
	const {createClientContext: createBuiltContext} = await import(join(built, 'agent-connection.js')) as typeof import('../source/dispatch/agent-connection.js');
	const started = performance.now();
	const context = createBuiltContext(credentials);
	const summary = await dispatch(targets, {requestId: randomUUID(), script: script.name, args: [], caller: 'bench@localhost', timeoutMs: 300_000, dryRun}, {context, parallel, connectTimeoutMs: benchHandshakeTimeoutMs});
	await context.close();
	return {ms: performance.now() - started, ok: summary.counts.ok ?? 0, failures: summary.notOk.map(result => `${result.agent}: ${result.status} ${result.reason ?? ''}`)};
}

async function main(): Promise<number> {
	const settings = readSettings();
	const sizes = process.env['BENCH_SIZES'] ? settings.sizes : [100];
	const repetitions = process.env['BENCH_REPS'] ? settings.repetitions : 7;
	const bases = process.env['BENCH_BASE']?.split(',').filter(Boolean) ?? [];
	const notes = buildNotes(log);
	if (!notes) {
		return 2;
	}

	notes.push('our agents keep what a real agent keeps per run (agent/start-records.ts: audit records fsynced in batches, a signed checkpoint per run, the run\'s message id in its receipt, the home modes checked); the floor keeps nothing, as fast as it can be');

	const largest = Math.max(...sizes);
	const protocolFloor = process.env['BENCH_FLOOR_PROTOCOL'] === '1';
	const firstPort = await freePortBlock(largest * (bases.length + 1 + (protocolFloor ? 1 : 0)));
	const root = trackPath(mkdtempSync(join(tmpdir(), 'xi-exec-profile-')));
	const fleet = await createFleet(join(root, 'ours'), largest, firstPort, log);
	const dryRun = !settings.spawn;
	const agentHosts = await startHosts('agent-host.ts', dealRoundRobin(fleet.agents.map(agent => agent.home), settings.workers), root);
	const bareHosts = await startHosts('bare-host.ts', dealRoundRobin(fleet.agents.map(agent => ({port: agent.port, host: floorHost, key: join(agent.home, 'agent.key'), cert: join(agent.home, 'agent.pem'), ca: join(agent.home, 'ca.pem')})), settings.workers).map(servers => ({...(dryRun ? {} : {script: script.path}), servers})), root);
	const context = createClientContext(fleet.credentials);
	const kinds: Kind[] = [
		{label: 'dispatcher', run: async size => sampled(agentHosts, async () => dispatcherFanOut(fleet.agents.slice(0, size).map(agent => agent.record), fleet.credentials, settings.parallel, {dryRun}))},
		{label: 'floor', run: async size => sampled(bareHosts, async () => floorFanOut(fleet.agents.slice(0, size).map(agent => agent.port), context.tls, settings.parallel, floorHost))},
	];
	if (protocolFloor) {
		// On the floor's address, past the base checkouts' blocks of ports: the same certificates.
		const portsFrom = firstPort + ((bases.length + 1) * largest);
		const protocolHosts = await startHosts('bare-host.ts', dealRoundRobin(fleet.agents.map((agent, index) => ({port: portsFrom + index, host: floorHost, key: join(agent.home, 'agent.key'), cert: join(agent.home, 'agent.pem'), ca: join(agent.home, 'ca.pem')})), settings.workers).map(servers => ({protocol: true, ...(dryRun ? {} : {script: script.path}), servers})), root, {name: 'protocol-bare-host'});
		// A run frame of about the dispatcher's length: what the floor's client writes on each connection.
		const request = JSON.stringify({v: 1, type: 'run', id: randomUUID(), script: script.name, args: [], caller: 'bench@localhost', timeoutMs: 300_000, dryRun, msg: randomUUID(), ts: Date.now()}) + '\n';
		kinds.push({label: 'floor speaking the protocol\'s messages', run: async size => sampled(protocolHosts, async () => floorFanOut(fleet.agents.slice(0, size).map((_agent, index) => portsFrom + index), context.tls, settings.parallel, floorHost, request))});
	}

	if (process.env['BENCH_DIST'] === '1') {
		kinds.push({label: 'dispatcher as built (dist/)', run: async size => sampled(agentHosts, async () => builtFanOut(fleet.agents.slice(0, size).map(agent => agent.record), fleet.credentials, settings.parallel, dryRun))});
	}

	if (process.env['BENCH_TSX'] === '0') {
		// The build's kinds alone (BENCH_DIST=1): this checkout's and each base's dispatcher through tsx are left out.
		kinds.splice(0, 1);
	}

	for (const [index, checkout] of bases.entries()) {
		// Another checkout's fleet: the same certificates, its agents on a block of ports of their own.
		const baseFleet = await createFleet(join(root, `base-${index}`), largest, firstPort + ((index + 1) * largest), log);
		const baseHosts = await startHosts('agent-host.ts', dealRoundRobin(baseFleet.agents.map(agent => agent.home), settings.workers), root, {name: `base-${index}-agent-host`, checkout});
		const baseOurs = await import(join(checkout, 'bench/ours.ts')) as typeof import('./ours.js');
		if (process.env['BENCH_TSX'] !== '0') {
			kinds.push({label: `dispatcher of ${checkout}`, run: async size => sampled(baseHosts, async () => baseOurs.dispatcherFanOut(baseFleet.agents.slice(0, size).map(agent => agent.record), baseFleet.credentials, settings.parallel, {dryRun}))});
		}

		if (process.env['BENCH_DIST'] === '1') {
			kinds.push({label: `dispatcher of ${checkout} as built (dist/)`, run: async size => sampled(baseHosts, async () => builtFanOut(baseFleet.agents.slice(0, size).map(agent => agent.record), baseFleet.credentials, settings.parallel, dryRun, checkout))});
		}
	}

	log(`warm-up: one run each on ${Math.min(largest, 100)} agents`);
	for (const kind of kinds) {
		await kind.run(Math.min(largest, 100));
	}

	const rows = [];
	const loadAtStart = loadAverage();
	for (const size of sizes) {
		const rounds = size >= 1000 ? Math.min(repetitions, 3) : repetitions;
		log(`N=${size}: ${rounds} rounds of ${kinds.map(kind => kind.label).join(', ')}`);
		const samples = await interleavedRounds(kinds, size, rounds, notes);

		const medians = samples.map(each => ({ms: median(each.map(sample => sample.ms)), controller: median(each.map(sample => sample.controller)), agents: median(each.map(sample => sample.agents)), scripts: median(each.map(sample => sample.scripts))}));
		const floor = medians[floorIndex(kinds)]!;
		for (const [index, kind] of kinds.entries()) {
			const of = medians[index]!;
			const perHost = (ms: number) => `${(ms / size).toFixed(2)} ms`;
			rows.push({
				measure: `N=${size}${dryRun ? ' dry run' : ''}: ${kind.label}`,
				value: seconds(of.ms),
				cpu: `controller ${perHost(of.controller)}, agent ${perHost(of.agents)} (scripts ${perHost(of.scripts)}) /host`,
				ratio: kind.label === 'floor' ? '' : `controller ${ratio(of.controller / floor.controller)}, agent ${ratio(of.agents / floor.agents)}, wall ${ratio(of.ms / floor.ms)}`,
			});
			notes.push(`N=${size} ${kind.label}: controller CPU ${samples[index]!.map(sample => seconds(sample.controller)).join(', ')}; agent CPU ${samples[index]!.map(sample => seconds(sample.agents)).join(', ')}; of which scripts ${samples[index]!.map(sample => seconds(sample.scripts)).join(', ')}`);
		}
	}

	if (process.env['BENCH_HEAP'] === '1') {
		rows.push(...await allocationRows(kinds, largest, notes));
	}

	if (process.env['BENCH_PERF_WINDOWS'] === '1') {
		await perfWindows(kinds, largest, notes);
	}

	process.stdout.write(profileReport(`Fan-out CPU by side — ${machine()}; ${settings.workers} host processes; parallel ${settings.parallel}; medians of ${repetitions} interleaved rounds (N≥1000: 3)`, loadAtStart, rows, notes));
	return 0;
}

await runBench(main, log);
