/**
 * Fan-out of the script on N agents: the real dispatcher in this process against the floor (bare
 * mutual-TLS handshakes plus one spawn per connection) on the same certificates and the same
 * number of host processes, runs alternating so that drift in the machine's load hits both alike;
 * for N = 100 also the real built CLI. Beside wall time, the CPU each run cost: this process (the
 * client side) plus the host processes (the servers and the scripts they ran), which holds up
 * better than wall time on a machine busy with other work.
 */
import {createClientContext} from '../source/dispatch/agent-connection.js';
import type {BenchFleet} from './fleet.js';
import {floorFanOut, type FanOutTiming} from './floor.js';
import {cpuMs, ownCpuMs, rssKiB, type Hosts} from './hosts.js';
import {cliRun, dispatcherFanOut} from './ours.js';
import {median} from './processes.js';
import {repeat, verdict, withCpu, type Measured, type Report} from './report.js';
import {mebibytes, ratio, seconds} from './table.js';

export type FanOutSettings = {sizes: number[]; repetitions: number; parallel: number};

export type FanOutSetup = {fleet: BenchFleet; agentHosts: Hosts; bareHosts: Hosts; floorPorts: number[]; cliHome?: string};

/** What the parallel-ssh comparison needs: our time for the same 100 hosts. */
export type Ours100 = {cli?: Measured; dispatcher?: Measured};

type Sample = {ms: number; cpu: number; clientCpu: number; failure?: string};

async function sampled(hosts: Hosts, run: () => Promise<FanOutTiming>): Promise<Sample> {
	const ownBefore = ownCpuMs();
	const hostsBefore = cpuMs(hosts.processes);
	const timing = await run();
	const clientCpu = ownCpuMs() - ownBefore;
	const cpu = clientCpu + cpuMs(hosts.processes) - hostsBefore;
	const failure = timing.failures.length === 0 ? undefined : `${timing.failures.length} of ${timing.ok + timing.failures.length} not ok, e.g. ${timing.failures[0]}`;
	return {ms: timing.ms, cpu, clientCpu, ...(failure ? {failure} : {})};
}

export async function measureFanOuts(report: Report, setup: FanOutSetup, settings: FanOutSettings, log: (text: string) => void): Promise<Ours100> {
	const {fleet, agentHosts, bareHosts, floorPorts} = setup;
	const context = createClientContext(fleet.credentials);
	const runs = {
		dispatcher: (size: number) => sampled(agentHosts, () => dispatcherFanOut(fleet.agents.slice(0, size).map(agent => agent.record), fleet.credentials, settings.parallel)),
		floor: (size: number) => sampled(bareHosts, () => floorFanOut(floorPorts.slice(0, size), context.tls, settings.parallel)),
	};
	const largest = Math.max(...settings.sizes);
	log(`warm-up: one dispatcher run and one floor run on ${largest} agents`);
	await runs.dispatcher(largest);
	await runs.floor(largest);

	const ours: Ours100 = {};
	for (const size of settings.sizes) {
		// At 1000 agents a run takes seconds (minutes on a busy machine): three runs each.
		const repetitions = size >= 1000 ? Math.min(settings.repetitions, 3) : settings.repetitions;
		log(`fan-out on ${size} agents, ${repetitions} runs each`);
		const samples = {dispatcher: [] as Sample[], floor: [] as Sample[]};
		for (let run = 0; run < repetitions; run++) {
			for (const which of run % 2 === 0 ? ['dispatcher', 'floor'] as const : ['floor', 'dispatcher'] as const) {
				const sample = await runs[which](size);
				samples[which].push(sample);
				if (sample.failure) {
					report.notes.push(`N=${size} ${which}, run ${run + 1}: ${sample.failure}`);
				}
			}
		}

		const summary = (which: 'dispatcher' | 'floor') => {
			const each = samples[which];
			report.notes.push(`N=${size} ${which}: wall ${each.map(sample => seconds(sample.ms)).join(', ')}; CPU ${each.map(sample => seconds(sample.cpu)).join(', ')} (client side ${each.map(sample => seconds(sample.clientCpu)).join(', ')})`);
			return {
				wall: {median: median(each.map(sample => sample.ms)), samples: each.map(sample => sample.ms), failedRuns: each.filter(sample => sample.failure).length},
				cpu: median(each.map(sample => sample.cpu)),
			};
		};

		const dispatcher = summary('dispatcher');
		const floor = summary('floor');
		const wallRatio = dispatcher.wall.median / floor.wall.median;
		report.rows.push(
			{
				measure: `fan-out N=${size}: dispatcher, parallel ${settings.parallel}`,
				value: seconds(dispatcher.wall.median),
				cpu: seconds(dispatcher.cpu),
				ratio: `${ratio(wallRatio)} floor`,
				...(size === 1000 ? {target: '≤ 1.50× floor', verdict: verdict(wallRatio <= 1.5, dispatcher.wall, floor.wall)} : {}),
			},
			{measure: `fan-out N=${size}: floor (bare mTLS + spawn)`, value: seconds(floor.wall.median), cpu: seconds(floor.cpu), ratio: `CPU ${ratio(dispatcher.cpu / floor.cpu)}`},
		);
		if (size === 100) {
			ours.dispatcher = dispatcher.wall;
		}
	}

	// A spawn's fork copies the parent's page tables: bigger host processes spawn more slowly.
	const rss = (hosts: Hosts) => rssKiB(hosts.processes).map(kib => mebibytes(kib)).join(', ');
	report.notes.push(`RSS after the fan-outs: agent hosts ${rss(agentHosts)}; bare hosts ${rss(bareHosts)}`);

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
