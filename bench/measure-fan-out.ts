/**
 * Fan-out of the script on N agents: the real dispatcher in this process against the floor (bare
 * mutual-TLS handshakes plus one spawn per connection) on the same certificates and the same
 * number of host processes, runs alternating so that drift in the machine's load hits both alike;
 * for N = 100 also the real built CLI. Beside wall time, the CPU each run cost: this process (the
 * client side) plus the host processes (the servers and the scripts they ran), which holds up
 * better than wall time on a machine busy with other work.
 *
 * With a relay (one local nats-server and relay agents in their own host processes, the same
 * certificates), the same rounds also run the dispatcher over the relay (its dry runs against
 * direct TLS, cold and warm, are measure-relay.ts's).
 */
import {createClientContext} from '../source/dispatch/agent-connection.js';
import type {AgentTarget} from '../source/dispatch/agent-connection.js';
import type {BenchFleet} from './fleet.js';
import {floorFanOut, timeline, type FanOutTiming} from './floor.js';
import {cpuMs, ownCpuMs, ownRssKiB, resetPeakRss, rssKiB, type Hosts} from './hosts.js';
import {floorHost} from './environment.js';
import {cliRun, dispatcherFanOut} from './ours.js';
import {median} from './processes.js';
import {repeat, verdict, withCpu, type Measured, type Report} from './report.js';
import {mebibytes, ratio, seconds, type Row} from './table.js';

/** spawn false (BENCH_SPAWN=0): every fan-out is a dry run and the floor spawns nothing (the bare hosts were started so). */
export type FanOutSettings = {sizes: number[]; repetitions: number; parallel: number; spawn: boolean};

/** The relay side: its URL, and the processes whose CPU a relay run costs (relay hosts and the broker). */
export type RelaySetup = {url: string; hosts: Hosts};

export type FanOutSetup = {fleet: BenchFleet; agentHosts: Hosts; bareHosts: Hosts; floorPorts: number[]; cliHome?: string; relay?: RelaySetup};

/** What the parallel-ssh comparison needs: our time for the same 100 hosts. */
export type Ours100 = {cli?: Measured; dispatcher?: Measured};

/** rss: this process's resident memory before the run, peakRss its peak during it (KiB; resetPeakRss). */
type Sample = {ms: number; cpu: number; clientCpu: number; rss: number; peakRss: number; failure?: string; timeline?: string};
type Kind = 'dispatcher' | 'floor' | 'relay';
type Summary = {wall: Measured; cpu: number; clientCpu: number; rss: number; peakRss: number};

/**
 * The client's peak RSS during the run, dispatcher against the floor's client, both in this
 * process (which also holds the fleet: the growth over the RSS before the run is the run's own).
 */
function peakRssRow(size: number, dispatcher: Summary, floor: Summary): Row {
	const growth = (summary: Summary) => mebibytes(summary.peakRss - summary.rss);
	return {
		measure: `  client peak RSS N=${size}: dispatcher (+ during the run) / floor's client`,
		value: mebibytes(dispatcher.peakRss),
		ratio: `+${growth(dispatcher)}; floor ${mebibytes(floor.peakRss)}, +${growth(floor)}`,
	};
}

async function sampled(hosts: Hosts, run: () => Promise<FanOutTiming>): Promise<Sample> {
	resetPeakRss();
	const {rss} = ownRssKiB();
	const ownBefore = ownCpuMs();
	const hostsBefore = cpuMs(hosts.processes);
	const timing = await run();
	const clientCpu = ownCpuMs() - ownBefore;
	const cpu = clientCpu + cpuMs(hosts.processes) - hostsBefore;
	const peakRss = ownRssKiB().peak;
	const failure = timing.failures.length === 0 ? undefined : `${timing.failures.length} of ${timing.ok + timing.failures.length} not ok, e.g. ${timing.failures[0]}`;
	return {ms: timing.ms, cpu, clientCpu, rss, peakRss, ...(failure ? {failure} : {}), ...(timing.doneMs ? {timeline: timeline(timing.doneMs)} : {})};
}

/** The relay's targets: the same agents, their registry record saying transport nats at this broker. */
function relayTargets(fleet: BenchFleet, size: number, url: string): AgentTarget[] {
	return fleet.agents.slice(0, size).map(agent => ({...agent.record, transport: 'nats' as const, relay: url}));
}

export async function measureFanOuts(report: Report, setup: FanOutSetup, settings: FanOutSettings, log: (text: string) => void): Promise<Ours100> {
	const {fleet, agentHosts, bareHosts, floorPorts, relay} = setup;
	const context = createClientContext(fleet.credentials);
	const direct = (size: number) => fleet.agents.slice(0, size).map(agent => agent.record);
	const runs: Partial<Record<Kind, (size: number) => Promise<Sample>>> = {
		dispatcher: size => sampled(agentHosts, () => dispatcherFanOut(direct(size), fleet.credentials, settings.parallel, {dryRun: !settings.spawn})),
		floor: size => sampled(bareHosts, () => floorFanOut(floorPorts.slice(0, size), context.tls, settings.parallel, floorHost)),
	};
	if (relay) {
		runs.relay = size => sampled(relay.hosts, () => dispatcherFanOut(relayTargets(fleet, size, relay.url), fleet.credentials, settings.parallel, {dryRun: !settings.spawn}));
	}

	const dry = settings.spawn ? '' : ' dry run';

	const kinds = Object.keys(runs) as Kind[];
	// Warms up the code and the page cache; at 1000 agents and more, a full-size run would cost minutes for nothing.
	const warmUp = Math.min(Math.max(...settings.sizes), 100);
	log(`warm-up: one run each (${kinds.join(', ')}) on ${warmUp} agents`);
	for (const kind of kinds) {
		await runs[kind]!(warmUp);
	}

	const ours: Ours100 = {};
	for (const size of settings.sizes) {
		// At 1000 agents and more a run takes seconds (minutes on a busy machine): three runs each.
		const repetitions = size >= 1000 ? Math.min(settings.repetitions, 3) : settings.repetitions;
		log(`fan-out on ${size} agents (${kinds.join(', ')}), ${repetitions} runs each, interleaved`);
		const samples = Object.fromEntries(kinds.map(kind => [kind, [] as Sample[]])) as Record<Kind, Sample[]>;
		for (let run = 0; run < repetitions; run++) {
			// Each round starts with the next kind, so that none always runs right after the same other.
			for (const kind of [...kinds.slice(run % kinds.length), ...kinds.slice(0, run % kinds.length)]) {
				const sample = await runs[kind]!(size);
				samples[kind].push(sample);
				if (sample.failure) {
					report.notes.push(`N=${size} ${kind}, run ${run + 1}: ${sample.failure}`);
				}
			}
		}

		const summary = (kind: Kind): Summary => {
			const each = samples[kind];
			report.notes.push(`N=${size} ${kind}: wall ${each.map(sample => seconds(sample.ms)).join(', ')}; CPU ${each.map(sample => seconds(sample.cpu)).join(', ')} (client side ${each.map(sample => seconds(sample.clientCpu)).join(', ')}); client peak RSS ${each.map(sample => `${mebibytes(sample.peakRss)} (+${mebibytes(sample.peakRss - sample.rss)})`).join(', ')}; hosts done ${each.map(sample => sample.timeline ?? '?').join(' | ')}`);
			return {
				wall: {median: median(each.map(sample => sample.ms)), samples: each.map(sample => sample.ms), failedRuns: each.filter(sample => sample.failure).length},
				cpu: median(each.map(sample => sample.cpu)),
				clientCpu: median(each.map(sample => sample.clientCpu)),
				rss: median(each.map(sample => sample.rss)),
				peakRss: median(each.map(sample => sample.peakRss)),
			};
		};

		const dispatcher = summary('dispatcher');
		const floor = summary('floor');
		const wallRatio = dispatcher.wall.median / floor.wall.median;
		const perAgent = (summary: Summary) => `${(summary.clientCpu / size).toFixed(2)} ms`;
		report.rows.push(
			{
				measure: `fan-out N=${size}${dry}: dispatcher, parallel ${settings.parallel}`,
				value: seconds(dispatcher.wall.median),
				cpu: seconds(dispatcher.cpu),
				ratio: `${ratio(wallRatio)} floor`,
				...(size >= 1000 ? {target: size > 1000 ? '≤ 1.20× floor' : '≤ 1.50× floor', verdict: verdict(wallRatio <= (size > 1000 ? 1.2 : 1.5), dispatcher.wall, floor.wall)} : {}),
			},
			{measure: `fan-out N=${size}${dry}: floor (bare mTLS + ${settings.spawn ? 'spawn' : 'one line'})`, value: seconds(floor.wall.median), cpu: seconds(floor.cpu), ratio: `CPU ${ratio(dispatcher.cpu / floor.cpu)}`},
			peakRssRow(size, dispatcher, floor),
		);
		if (relay) {
			const relayRun = summary('relay');
			// The ≥ 5× target is the transport's, measured in dry runs cold and warm (measure-relay.ts): a spawn costs both the same.
			report.rows.push(
				{
					measure: `fan-out N=${size}${dry}: relay (one nats-server), parallel ${settings.parallel}`,
					value: seconds(relayRun.wall.median),
					cpu: seconds(relayRun.cpu),
					ratio: `${ratio(dispatcher.wall.median / relayRun.wall.median)} faster than direct, ${ratio(relayRun.wall.median / floor.wall.median)} floor`,
				},
				{measure: `  controller CPU per agent: relay / direct TLS`, value: perAgent(relayRun), ratio: `direct ${perAgent(dispatcher)}, ${ratio(dispatcher.clientCpu / relayRun.clientCpu)} less`},
			);
		}

		report.notes.push(`controller (this process) after the N=${size} runs: RSS ${mebibytes(ownRssKiB().rss)}`);
		if (size === 100) {
			ours.dispatcher = dispatcher.wall;
		}
	}

	// A spawn's fork copies the parent's page tables: bigger host processes spawn more slowly.
	const rss = (hosts: Hosts) => rssKiB(hosts.processes).map(kib => mebibytes(kib)).join(', ');
	report.notes.push(`RSS after the fan-outs: agent hosts ${rss(agentHosts)}; bare hosts ${rss(bareHosts)}${relay ? `; relay hosts and the broker (last) ${rss(relay.hosts)}` : ''}`);

	if (setup.cliHome) {
		const {cliHome} = setup;
		log(`the built CLI on 100 agents, ${settings.repetitions} runs`);
		ours.cli = await repeat(report, 'N=100 CLI', settings.repetitions, () => withCpu(() => cpuMs(agentHosts.processes), () => cliRun(cliHome, 'all', settings.parallel)));
		report.rows.push({
			measure: `fan-out N=100: CLI run --on all --parallel ${settings.parallel}`,
			value: seconds(ours.cli.median),
			...(ours.cli.cpu === undefined ? {} : {cpu: seconds(ours.cli.cpu)}),
			...(ours.cli.failedRuns > 0 ? {verdict: 'INVALID' as const} : {}),
		});
	}

	return ours;
}
