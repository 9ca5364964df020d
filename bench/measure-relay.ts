/**
 * The relay against direct TLS on the same agents, in the two states a controller is in, each
 * compared with direct TLS in the same state so that neither side is charged what the other is
 * spared:
 *
 *   - cold: a CLI run (`xi-exec run uptime --on all --dry-run`, the built CLI in its own process):
 *     the key loaded, the TLS context or the broker connection made, every agent's certificate
 *     read, on every run, as a user's command pays them;
 *   - warm: the dispatcher in this process with one client context held across runs, as `serve`,
 *     the API and the console hold it: over direct TLS its TLS context, over the relay its broker
 *     connection and the agents' public keys parsed by an earlier run.
 *
 * Every run is a dry run: every check on the agent (signature, pins, replay guard, allowlist,
 * boundary) and a signed result, no script spawned — what the transport costs, which is what the
 * relay changes (a spawn costs both the same). The four kinds run interleaved, each round starting
 * with the next. CPU per agent: the controller (this process when warm, the CLI process when cold)
 * and the agents' side (their host processes; over the relay also the broker).
 *
 * The CLI plans a run without arguments from its description cache (core/cached-plan.ts): one
 * uncounted run of each cold kind fills it first, as an operator's first run does, so the cold
 * rows run no describe (the note says how many hosts were planned from the cache). With
 * BENCH_BASE=DIR, that checkout's built CLI runs the same cold kinds on the same homes, interleaved.
 */
import {cpSync} from 'node:fs';
import {join} from 'node:path';
import {createClientContext, type AgentTarget, type ClientContext} from '../source/dispatch/agent-connection.js';
import {controllerPaths, openControllerRegistry} from '../source/home.js';
import type {BenchFleet} from './fleet.js';
import {script} from './fleet.js';
import type {FanOutTiming} from './floor.js';
import {cpuMs, ownCpuMs, reapedChildrenCpuMs, type Hosts} from './hosts.js';
import {controllerCli, dispatcherFanOut} from './ours.js';
import {baseCli, plannedFromCache} from './plan-cache-count.js';
import {firstLine, median, runTimed} from './processes.js';
import {verdict, type Report} from './report.js';
import {ratio, seconds} from './table.js';

export type RelayComparison = {
	fleet: BenchFleet;
	/** The direct-TLS agents' host processes. */
	agentHosts: Hosts;
	/** The broker's URL, and the relay agents' host processes with the broker. */
	relay: {url: string; hosts: Hosts};
	/** Where the CLI's controller homes are written. */
	root: string;
};

export type RelaySettings = {sizes: number[]; repetitions: number; parallel: number};

type Kind = 'direct cold' | 'relay cold' | 'direct warm' | 'relay warm' | 'direct cold base' | 'relay cold base';
const ownKinds: Kind[] = ['direct cold', 'relay cold', 'direct warm', 'relay warm'];
type Sample = {ms: number; controller: number; agents: number; failure?: string};

/** A CLI run's time limit: the CLI's own (30 s to hear from each agent) is raised as the dispatcher's is in ours.ts. */
const cliTimeoutSeconds = 300;

/** A copy of the controller home whose registry holds the first `count` agents, over the relay at `url` when given. */
async function cliHome(fleet: BenchFleet, root: string, count: number, url?: string): Promise<string> {
	const home = join(root, `controller-${count}-${url ? 'relay' : 'direct'}`);
	cpSync(fleet.controllerHome, home, {recursive: true});
	const kept = new Set(fleet.agents.slice(0, count).map(agent => agent.name));
	await openControllerRegistry(controllerPaths(home)).update(registry => ({
		...registry,
		agents: registry.agents.filter(agent => kept.has(agent.name)).map(agent => (url ? {...agent, transport: 'nats' as const, relay: url} : agent)),
	}));
	return home;
}

async function cliSample(home: string, parallel: number, hosts: Hosts, cli = controllerCli): Promise<Sample> {
	const controllerBefore = reapedChildrenCpuMs();
	const agentsBefore = cpuMs(hosts.processes);
	const finished = await runTimed(process.execPath, [cli, 'run', script.name, '--on', 'all', '--dry-run', '--parallel', String(parallel), '--timeout', String(cliTimeoutSeconds), '--no-progress', '--home', home], {timeoutMs: (cliTimeoutSeconds + 120) * 1000});
	const failure = finished.code === 0 ? undefined : `not ok: exit ${finished.code}: ${firstLine(finished.stderr.trim() || finished.stdout.trim().split('\n').at(-1) || '')}`;
	return {ms: finished.ms, controller: reapedChildrenCpuMs() - controllerBefore, agents: cpuMs(hosts.processes) - agentsBefore, ...(failure ? {failure} : {})};
}

async function warmSample(targets: readonly AgentTarget[], context: ClientContext, setup: RelayComparison, parallel: number, hosts: Hosts): Promise<Sample> {
	const controllerBefore = ownCpuMs();
	const agentsBefore = cpuMs(hosts.processes);
	const timing: FanOutTiming = await dispatcherFanOut(targets, setup.fleet.credentials, parallel, {dryRun: true, context});
	const failure = timing.failures.length === 0 ? undefined : `${timing.failures.length} of ${timing.ok + timing.failures.length} not ok, e.g. ${timing.failures[0]}`;
	return {ms: timing.ms, controller: ownCpuMs() - controllerBefore, agents: cpuMs(hosts.processes) - agentsBefore, ...(failure ? {failure} : {})};
}

export async function measureRelayColdWarm(report: Report, setup: RelayComparison, settings: RelaySettings, log: (text: string) => void): Promise<void> {
	const {fleet, agentHosts, relay} = setup;
	const base = baseCli();
	// Held for every warm run, as a serve holds them: the TLS context, the broker connection, the parsed keys.
	const held = {direct: createClientContext(fleet.credentials), relay: createClientContext(fleet.credentials)};
	try {
		for (const size of settings.sizes) {
			const direct = fleet.agents.slice(0, size).map(agent => agent.record);
			const overRelay = direct.map(record => ({...record, transport: 'nats' as const, relay: relay.url}));
			const homes = {direct: await cliHome(fleet, setup.root, size), relay: await cliHome(fleet, setup.root, size, relay.url)};
			const run: Partial<Record<Kind, () => Promise<Sample>>> = {
				'direct cold': async () => cliSample(homes.direct, settings.parallel, agentHosts),
				'relay cold': async () => cliSample(homes.relay, settings.parallel, relay.hosts),
				'direct warm': async () => warmSample(direct, held.direct, setup, settings.parallel, agentHosts),
				'relay warm': async () => warmSample(overRelay, held.relay, setup, settings.parallel, relay.hosts),
				...(base ? {
					'direct cold base': async () => cliSample(homes.direct, settings.parallel, agentHosts, base.cli),
					'relay cold base': async () => cliSample(homes.relay, settings.parallel, relay.hosts, base.cli),
				} : {}),
			};
			const kinds = Object.keys(run) as Kind[];
			// The warm kinds are warm from their first measured run on, and the cold ones' description cache full: one run each, not measured.
			log(`relay cold and warm on ${size} agents: one warm-up run of each of ours`);
			for (const kind of ownKinds) {
				await run[kind]!();
			}

			report.notes.push(`N=${size} cold (CLI) runs: planned from cache: direct ${await plannedFromCache(homes.direct, script.name)}, relay ${await plannedFromCache(homes.relay, script.name)}${base ? `; ${base.label} describes every host (it plans only a one-shot from the cache)` : ''}`);
			const repetitions = size >= 1000 ? Math.min(settings.repetitions, 3) : settings.repetitions;
			log(`relay cold and warm on ${size} agents (${kinds.join(', ')}), ${repetitions} runs each, interleaved`);
			const samples = Object.fromEntries(kinds.map(kind => [kind, [] as Sample[]])) as Record<Kind, Sample[]>;
			for (let round = 0; round < repetitions; round++) {
				for (const kind of [...kinds.slice(round % kinds.length), ...kinds.slice(0, round % kinds.length)]) {
					const sample = await run[kind]!();
					samples[kind].push(sample);
					if (sample.failure) {
						report.notes.push(`N=${size} ${kind}, run ${round + 1}: ${sample.failure}`);
					}
				}
			}

			reportSize(report, size, samples, base?.label);
		}
	} finally {
		await held.direct.close();
		await held.relay.close();
	}
}

function reportSize(report: Report, size: number, samples: Record<Kind, Sample[]>, baseLabel: string | undefined): void {
	const of = (kind: Kind) => {
		const each = samples[kind];
		report.notes.push(`N=${size} ${kind} (dry run): wall ${each.map(sample => seconds(sample.ms)).join(', ')}; controller CPU ${each.map(sample => seconds(sample.controller)).join(', ')}; agents' side CPU ${each.map(sample => seconds(sample.agents)).join(', ')}`);
		return {
			wall: {median: median(each.map(sample => sample.ms)), samples: each.map(sample => sample.ms), failedRuns: each.filter(sample => sample.failure).length},
			controller: median(each.map(sample => sample.controller)) / size,
			agents: median(each.map(sample => sample.agents)) / size,
		};
	};

	const perAgent = (ms: number) => `${ms.toFixed(2)} ms`;
	for (const state of ['cold', 'warm'] as const) {
		const direct = of(`direct ${state}`);
		const relay = of(`relay ${state}`);
		const faster = direct.wall.median / relay.wall.median;
		const words = state === 'cold' ? 'cold (a CLI run: key loaded, connection made)' : 'warm (serve/API: connection and keys held)';
		report.rows.push(
			{
				measure: `relay N=${size} dry run, ${words}`,
				value: seconds(relay.wall.median),
				cpu: `${perAgent(relay.controller)} + ${perAgent(relay.agents)}/agent`,
				ratio: `${ratio(faster)} faster than direct TLS ${state}`,
				...(size >= 1000 ? {target: '≥ 5× faster than direct', verdict: verdict(faster >= 5, relay.wall, direct.wall)} : {}),
			},
			{
				measure: `  direct TLS N=${size} dry run, ${state}`,
				value: seconds(direct.wall.median),
				cpu: `${perAgent(direct.controller)} + ${perAgent(direct.agents)}/agent`,
				ratio: `controller CPU/agent ${ratio(direct.controller / relay.controller)} the relay's`,
			},
		);
		if (state === 'cold' && baseLabel) {
			for (const link of ['relay', 'direct'] as const) {
				const ours = link === 'relay' ? relay : direct;
				const base = of(`${link} cold base`);
				report.rows.push({
					measure: `  ${link} N=${size} dry run, cold, ${baseLabel} (describes every host)`,
					value: seconds(base.wall.median),
					cpu: `${perAgent(base.controller)} + ${perAgent(base.agents)}/agent`,
					ratio: `controller CPU/agent ${ratio(base.controller / ours.controller)} this CLI's, wall ${ratio(base.wall.median / ours.wall.median)}`,
				});
			}
		}
	}
}
