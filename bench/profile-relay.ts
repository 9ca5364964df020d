/**
 * Where a relay fan-out's CPU goes: the dispatcher over the relay (one local nats-server, relay
 * agents in host processes: relay-host.ts) against the same dispatcher over direct TLS (agent-host.ts),
 * runs interleaved, each side's CPU apart — the controller (this process), the relay agents' host
 * processes, the broker (nats-server, from /proc), and for direct TLS the agents' host processes —
 * per agent. Faster to repeat than `npm run bench`, for one change at a time.
 *
 * With BENCH_BASE=DIR[,DIR...] (other checkouts of this repository, each with its node_modules),
 * the same rounds also run each checkout's dispatcher over its own broker to its own relay agents
 * (the same certificates): a change's effect on every side, measured in one run (an A/B line).
 *
 *   node --expose-gc --import=tsx bench/profile-relay.ts
 *
 * The floor (bare mutual TLS, bare-host.ts, as profile-fan-out.ts has it) runs in the same rounds
 * unless BENCH_FLOOR=0, and the relay floor (relay-floor.ts: the least any implementation of
 * issue 23's Must-hold spends on the controller, over a broker of its own, relay-floor-host.ts's
 * bare agents answering) unless BENCH_RELAY_FLOOR=0. Each row also says the controller-bound wall: the controller's CPU per agent
 * × N, what the run would take were the agents elsewhere (a real fleet: each agent its own machine)
 * and the controller the only bound. BENCH_IDLE_MS=MS measures, before the rounds, what every side
 * spends over MS with nothing run (the relay agents' presence heartbeats, the broker's pings).
 *
 * Settings: BENCH_SIZES (1000), BENCH_REPS (3), BENCH_WORKERS (4), BENCH_PARALLEL (256), BENCH_SPAWN=1
 * (runs spawn the script; dry runs by default), BENCH_DIRECT=0 (no direct-TLS runs), BENCH_FLOOR=0,
 * BENCH_IDLE_MS, BENCH_WARMUP (the warm-up run's size, 100), BENCH_HEAP=1 (after the rounds, one more run of each kind at the largest size with V8's sampling
 * heap profiler: the controller's bytes allocated per agent, freed or not, the functions that allocate
 * the most, and the collections meanwhile, as profile-fan-out.ts has it),
 * BENCH_BASE=DIR[,DIR], BENCH_PROFILE=DIR (V8 CPU profiles of the host processes; `node --cpu-prof`
 * for this process's), BENCH_RUN_PROFILE=DIR (V8 CPU profiles of the measured runs only: the relay
 * hosts' from ready to stop, this process's over the measured rounds).
 */
import {mkdtempSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import type {AgentTarget} from '../source/dispatch/agent-connection.js';
import {natsServerMissing, startBroker, type Broker} from './broker.js';
import {runBench, stopChild, trackPath} from './cleanup.js';
import {createClientContext} from '../source/dispatch/agent-connection.js';
import {buildNotes, floorHost, freePortBlock, loadAverage, machine, readSettings} from './environment.js';
import {createFleet, script, type BenchFleet} from './fleet.js';
import {floorFanOut, type FanOutTiming} from './floor.js';
import {cpuMs, dealRoundRobin, ownCpuMs, startHosts, type Hosts} from './hosts.js';
import type {RelayHostInput} from './relay-host.js';
import type {RelayFloorHostInput} from './relay-floor-host.js';
import {floorController, relayFloorFanOut} from './relay-floor.js';
import {interleavedRounds, profileReport} from './interleaved-rounds.js';
import {median} from './processes.js';
import {ratio, seconds} from './table.js';
import {startRunProfile} from './run-profile.js';
import {startAllocationSampling} from './heap-sample.js';

const log = (text: string) => process.stderr.write(`profile-relay: ${text}\n`);

/** CPU in ms of one run, by side: this process, the agents' host processes, the broker. */
type Sample = {ms: number; controller: number; agents: number; broker: number; failure?: string};
type Kind = {label: string; run: (size: number) => Promise<Sample>};
type DispatcherFanOut = typeof import('./ours.js').dispatcherFanOut;

async function sampled(agents: Hosts, broker: Broker | undefined, run: () => Promise<FanOutTiming>): Promise<Sample> {
	const own = ownCpuMs();
	const hosts = cpuMs(agents.processes);
	const brokerCpu = broker ? cpuMs([broker.process]) : 0;
	const timing = await run();
	return {
		ms: timing.ms,
		controller: ownCpuMs() - own,
		agents: cpuMs(agents.processes) - hosts,
		broker: broker ? cpuMs([broker.process]) - brokerCpu : 0,
		...(timing.failures.length > 0 ? {failure: `${timing.failures.length} not ok, e.g. ${timing.failures[0]}`} : {}),
	};
}

/** The relay's targets: the fleet's agents, their registry record saying transport nats at this broker. */
function relayTargets(fleet: BenchFleet, size: number, url: string): AgentTarget[] {
	return fleet.agents.slice(0, size).map(agent => ({...agent.record, transport: 'nats' as const, relay: url}));
}

/** A broker of its own and the relay agents of `checkout` (this one by default) for `fleet`'s agents. */
async function relayOf(fleet: BenchFleet, workers: number, directory: string, label: string, checkout?: string): Promise<{broker: Broker; hosts: Hosts}> {
	const broker = await startBroker(fleet.controllerHome, mkdtempSync(join(directory, `broker-${label}-`)), fleet.agents.map(agent => agent.name));
	const inputs = dealRoundRobin(fleet.agents.map(agent => agent.home), workers).map((homes): RelayHostInput => ({url: broker.url, homes}));
	const readyWithinMs = 180_000 + (300 * Math.ceil(fleet.agents.length / workers));
	const hosts = await startHosts('relay-host.ts', inputs, directory, {name: `relay-host-${label}`, readyWithinMs, checkout});
	return {broker, hosts};
}

/** What the relay agents (`agents` of them, every checkout's), the first broker and this process spend over `ms` with nothing run: heartbeats, pings, lock refreshes. */
async function idleCost(ms: number, hosts: readonly Hosts[], broker: Broker | undefined, agents: number): Promise<string> {
	const processes = hosts.flatMap(each => each.processes);
	const before = {agents: cpuMs(processes), broker: broker ? cpuMs([broker.process]) : 0, controller: ownCpuMs()};
	await new Promise(resolve => {
		setTimeout(resolve, ms);
	});
	const per30s = (spent: number) => `${(spent / agents / (ms / 30_000)).toFixed(3)} ms`;
	return `idle for ${ms / 1000} s before the rounds (load ${loadAverage()}), per relay agent per 30 s: agents ${per30s(cpuMs(processes) - before.agents)}, broker ${per30s((broker ? cpuMs([broker.process]) : 0) - before.broker)}, controller ${per30s(ownCpuMs() - before.controller)}`;
}

/** One more run of each kind at `size` with the sampling heap profiler: the controller's allocations per agent, by site. */
async function allocationRows(kinds: readonly Kind[], size: number, notes: string[]): Promise<Array<{measure: string; value: string; cpu: string; ratio: string}>> {
	const rows = [];
	for (const kind of kinds) {
		(globalThis as {gc?: () => void}).gc?.();
		const stop = await startAllocationSampling();
		const sample = await kind.run(size);
		const {bytes, sites, young, full, pauseMs} = await stop();
		notes.push(`N=${size} ${kind.label}, allocated per agent by site: ${sites.slice(0, 15).map(each => `${each.site} ${(each.bytes / size / 1024).toFixed(2)} KB`).join('; ')}`);
		rows.push({
			measure: `N=${size}: ${kind.label}, allocated`,
			value: `${(bytes / size / 1024).toFixed(1)} KB/agent`,
			cpu: `GC ${young} young, ${full} full, pauses ${(pauseMs / size * 1000).toFixed(0)} µs/agent; controller ${(sample.controller / size).toFixed(2)} ms/agent while sampled (load ${loadAverage()})`,
			ratio: '',
		});
	}

	return rows;
}

async function main(): Promise<number> {
	const missing = natsServerMissing();
	if (missing) {
		log(missing);
		return 2;
	}

	const settings = readSettings();
	const sizes = process.env['BENCH_SIZES'] ? settings.sizes : [1000];
	const repetitions = process.env['BENCH_REPS'] ? settings.repetitions : 3;
	const dryRun = process.env['BENCH_SPAWN'] !== '1';
	const bases = process.env['BENCH_BASE']?.split(',').filter(Boolean) ?? [];
	const notes = buildNotes(log);
	if (!notes) {
		return 2;
	}

	const largest = Math.max(...sizes);
	const firstPort = await freePortBlock(largest);
	const root = trackPath(mkdtempSync(join(tmpdir(), 'xi-exec-profile-relay-')));
	const fleet = await createFleet(join(root, 'ours'), largest, firstPort, log);
	const ours = await import('./ours.js');
	const kinds: Kind[] = [];
	const relayHosts: Hosts[] = [];
	const readyWithinMs = 180_000 + (300 * Math.ceil(largest / settings.workers));
	if (process.env['BENCH_DIRECT'] !== '0') {
		const agentHosts = await startHosts('agent-host.ts', dealRoundRobin(fleet.agents.map(agent => agent.home), settings.workers), root, {readyWithinMs});
		kinds.push({label: 'direct TLS', run: async size => sampled(agentHosts, undefined, async () => ours.dispatcherFanOut(fleet.agents.slice(0, size).map(agent => agent.record), fleet.credentials, settings.parallel, {dryRun}))});
	}

	if (process.env['BENCH_FLOOR'] !== '0') {
		const servers = fleet.agents.map(agent => ({port: agent.port, host: floorHost, key: join(agent.home, 'agent.key'), cert: join(agent.home, 'agent.pem'), ca: join(agent.home, 'ca.pem')}));
		const bareHosts = await startHosts('bare-host.ts', dealRoundRobin(servers, settings.workers).map(each => ({...(dryRun ? {} : {script: script.path}), servers: each})), root, {readyWithinMs});
		const context = createClientContext(fleet.credentials);
		kinds.push({label: 'floor', run: async size => sampled(bareHosts, undefined, async () => floorFanOut(fleet.agents.slice(0, size).map(agent => agent.port), context.tls, settings.parallel, floorHost))});
	}

	if (process.env['BENCH_RELAY_FLOOR'] !== '0') {
		log(`starting a broker and ${largest} relay floor agents in ${settings.workers} processes`);
		const broker = await startBroker(fleet.controllerHome, mkdtempSync(join(root, 'broker-floor-')), fleet.agents.map(agent => agent.name));
		const agents = fleet.agents.map(agent => ({name: agent.name, serial: agent.record.serial, home: agent.home}));
		const floorHosts = await startHosts('relay-floor-host.ts', dealRoundRobin(agents, settings.workers).map((each): RelayFloorHostInput => ({url: broker.url, agents: each})), root, {readyWithinMs});
		const targets = fleet.agents.map(agent => ({name: agent.name, serial: agent.record.serial, certificate: agent.record.certificate!}));
		const controller = floorController(fleet.credentials, targets);
		kinds.push({label: 'relay floor', run: async size => sampled(floorHosts, broker, async () => relayFloorFanOut(broker.url, controller, targets.slice(0, size), settings.parallel))});
	}

	let relayBroker: Broker | undefined;
	const relayKind = (label: string, relay: {broker: Broker; hosts: Hosts}, of: BenchFleet, fanOut: DispatcherFanOut): Kind => {
		relayHosts.push(relay.hosts);
		relayBroker ??= relay.broker;
		return {
		label,
		run: async size => sampled(relay.hosts, relay.broker, async () => fanOut(relayTargets(of, size, relay.broker.url), of.credentials, settings.parallel, {dryRun})),
		};
	};
	log(`starting a broker and ${largest} relay agents in ${settings.workers} processes`);
	kinds.push(relayKind('relay', await relayOf(fleet, settings.workers, root, 'ours'), fleet, ours.dispatcherFanOut));
	for (const [index, checkout] of bases.entries()) {
		const baseFleet = await createFleet(join(root, `base-${index}`), largest, firstPort, log);
		const baseOurs = await import(join(checkout, 'bench/ours.ts')) as typeof import('./ours.js');
		log(`starting a broker and ${largest} relay agents of ${checkout}`);
		kinds.push(relayKind(`relay of ${checkout}`, await relayOf(baseFleet, settings.workers, root, `base-${index}`, checkout), baseFleet, baseOurs.dispatcherFanOut));
	}

	// BENCH_WARMUP=N: the warm-up's size (100 by default; the largest size makes every agent's key before the rounds, as a long-lived controller holds them).
	const warmUp = Math.min(largest, Number(process.env['BENCH_WARMUP'] ?? 100));
	log(`warm-up: one run each on ${warmUp} agents`);
	for (const kind of kinds) {
		await kind.run(warmUp);
	}

	const rows = [];
	const idleMs = Number(process.env['BENCH_IDLE_MS'] ?? 0);
	if (idleMs > 0) {
		notes.push(await idleCost(idleMs, relayHosts, relayBroker, largest * relayHosts.length));
	}

	const loadAtStart = loadAverage();
	const stopProfile = await startRunProfile('controller.cpuprofile');
	for (const size of sizes) {
		log(`N=${size}: ${repetitions} rounds of ${kinds.map(kind => kind.label).join(', ')}`);
		const samples = await interleavedRounds(kinds, size, repetitions, notes);

		const medianOf = (each: Sample[], side: keyof Omit<Sample, 'failure'>) => median(each.map(sample => sample[side]));
		const perAgent = (ms: number) => `${(ms / size).toFixed(2)}`;
		const first = samples[0]!;
		for (const [index, kind] of kinds.entries()) {
			const each = samples[index]!;
			const total = medianOf(each, 'controller') + medianOf(each, 'agents') + medianOf(each, 'broker');
			// The controller's CPU per agent × N is its CPU for the run: the wall were the agents elsewhere.
			const bound = (of: Sample[]) => medianOf(of, 'controller');
			rows.push({
				measure: `N=${size}${dryRun ? ' dry run' : ''}: ${kind.label}`,
				value: seconds(medianOf(each, 'ms')),
				cpu: `ms/agent: controller ${perAgent(medianOf(each, 'controller'))}, agents ${perAgent(medianOf(each, 'agents'))}, broker ${perAgent(medianOf(each, 'broker'))}, total ${perAgent(total)}; controller-bound wall ${seconds(bound(each))}`,
				ratio: index === 0 ? '' : `${kinds[0]!.label} / this: wall ${ratio(medianOf(first, 'ms') / medianOf(each, 'ms'))}, controller-bound ${ratio(bound(first) / bound(each))}`,
			});
			const relayFloor = kinds.findIndex(each => each.label === 'relay floor');
			if (relayFloor >= 0 && index > relayFloor) {
				notes.push(`N=${size} ${kind.label}: controller ${ratio(bound(each) / bound(samples[relayFloor]!))} the relay floor's; ${kinds[0]!.label} / relay floor ${ratio(bound(first) / bound(samples[relayFloor]!))} (5× asks ${perAgent(bound(first) / 5)} ms/agent of the controller)`);
			}

			const list = (side: keyof Omit<Sample, 'failure'>) => each.map(sample => seconds(sample[side])).join(', ');
			notes.push(`N=${size} ${kind.label}: wall ${list('ms')}; controller ${list('controller')}; agents ${list('agents')}; broker ${list('broker')}`);
		}
	}

	await stopProfile?.();
	if (process.env['BENCH_HEAP'] === '1') {
		rows.push(...await allocationRows(kinds, largest, notes));
	}

	// Hundreds of broker connections take a while to drain under load: a killed host writes no CPU profile.
	await Promise.all(relayHosts.flatMap(hosts => hosts.processes.map(async child => stopChild(child, 60_000))));
	process.stdout.write(profileReport(`Relay fan-out CPU by side — ${machine()}; ${settings.workers} host processes; parallel ${settings.parallel}; medians of ${repetitions} interleaved rounds`, loadAtStart, rows, notes));
	return 0;
}

await runBench(main, log);
