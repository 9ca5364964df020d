/**
 * The world an operator feels on a real network: every connection of the N=100 comparisons and of
 * the one-shot goes through the bench's delaying proxy (delay-proxy.ts, `delayMs` each way, so a
 * round trip of twice that) — the agents, the floor's bare servers and the loopback sshd alike,
 * the proxies in processes of their own. Runs alternate as on loopback. Beside each time, the
 * round trips the proxies counted: per run (every connection's, summed) and per host.
 */
import type {ChildProcess} from 'node:child_process';
import {createClientContext} from '../source/dispatch/agent-connection.js';
import type {AgentRecord} from '../source/registry/model.js';
import type {DelayHostInput} from './delay-host.js';
import type {ProxyRoute} from './delay-proxy.js';
import {controllerHomeWith, script, type BenchFleet} from './fleet.js';
import {floorFanOut} from './floor.js';
import {agentHost, floorHost} from './environment.js';
import type {HostMessage} from './host-protocol.js';
import {dealRoundRobin, startHosts} from './hosts.js';
import {parallelSsh, parallelSshDefault, sshRun, startLoopbackSshd, type LoopbackSshd, type SshTools} from './loopback-sshd.js';
import {measureOneShotSteps} from './measure-one-shot.js';
import {cliRun, dispatcherFanOut} from './ours.js';
import {median, sleep} from './processes.js';
import {sessionTickets} from './session-tickets.js';
import {verdict, type Attempt, type Measured, type Report} from './report.js';
import {ratio, seconds, type Row} from './table.js';

export type LatencySettings = {
	delayMs: number;
	size: number;
	repetitions: number;
	parallel: number;
	/** The first of 2 × size + 1 free ports: the agents' proxies, the floor's, sshd's. */
	firstPort: number;
	floorPorts: number[];
	sshdPort: number;
	directory: string;
};

type Counted = Attempt & {roundTrips: number[]};

/** Asks every proxy process for the round trips of the connections that ended since the last time. */
async function takeCounts(proxies: readonly ChildProcess[]): Promise<number[]> {
	// The proxy sees its side of a connection close just after the client's: give it a moment.
	await sleep(300);
	const answers = await Promise.all(proxies.map(child => new Promise<number[]>(resolve => {
		const listen = (message: HostMessage) => {
			if ('counts' in message) {
				child.off('message', listen);
				resolve(message.counts.flatMap(route => route.roundTrips));
			}
		};

		child.on('message', listen);
		child.send({take: true});
	})));
	return answers.flat();
}

/** `label`: wall times, and the round trips of the last run (every run makes the same connections). */
async function measured(report: Report, label: string, times: number, proxies: readonly ChildProcess[], run: () => Promise<Attempt>): Promise<Measured & {roundTrips: number[]}> {
	const samples: Counted[] = [];
	await takeCounts(proxies);
	for (let index = 0; index < times; index++) {
		const attempt = await run();
		samples.push({...attempt, roundTrips: await takeCounts(proxies)});
		if (attempt.failure) {
			report.notes.push(`${label}, run ${index + 1}: ${attempt.failure}`);
		}
	}

	const walls = samples.map(sample => sample.ms);
	return {median: median(walls), samples: walls, failedRuns: samples.filter(sample => sample.failure).length, roundTrips: samples.at(-1)?.roundTrips ?? []};
}

/** `412 round trips in 200 connections; per host 4 (2 connections)` */
function roundTripNote(roundTrips: readonly number[], hosts: number): string {
	const total = roundTrips.reduce((sum, count) => sum + count, 0);
	return `${total} round trips in ${roundTrips.length} connections; per host ${(total / hosts).toFixed(1)} in ${(roundTrips.length / hosts).toFixed(1)} connections`;
}

export async function measureLatency(report: Report, fleet: BenchFleet, tools: SshTools | string, settings: LatencySettings, log: (text: string) => void): Promise<void> {
	const {delayMs, size, firstPort} = settings;
	const rtt = `${2 * delayMs} ms RTT`;
	const agentProxy = (index: number) => firstPort + index;
	const floorProxy = (index: number) => firstPort + size + index;
	const sshdProxy = firstPort + (2 * size);
	let sshd: LoopbackSshd | undefined;
	let sshSkipped: string | undefined;
	if (typeof tools === 'string') {
		sshSkipped = tools;
	} else {
		try {
			sshd = await startLoopbackSshd(tools, settings.directory, settings.sshdPort);
		} catch (error) {
			sshSkipped = (error as Error).message;
		}
	}

	const routes: ProxyRoute[] = [
		...fleet.agents.slice(0, size).map((agent, index) => ({listen: agentProxy(index), target: agent.port, targetHost: agentHost})),
		...settings.floorPorts.slice(0, size).map((port, index) => ({listen: floorProxy(index), target: port, targetHost: floorHost})),
		...(sshd ? [{listen: sshdProxy, target: sshd.port}] : []),
	];
	const proxies = await startHosts('delay-host.ts', dealRoundRobin(routes, 2).map((share): DelayHostInput => ({delayMs, routes: share})), settings.directory);
	try {
		const processes = proxies.processes;
		const targets: AgentRecord[] = fleet.agents.slice(0, size).map((agent, index) => ({...agent.record, address: `127.0.0.1:${agentProxy(index)}`}));
		const context = createClientContext(fleet.credentials);
		const cliHome = await controllerHomeWith(fleet, settings.directory, size, agentProxy);
		const runs = settings.repetitions;
		const tickets = await Promise.all([sessionTickets(agentHost, fleet.agents[0]!.port, context.tls), sessionTickets(floorHost, settings.floorPorts[0]!, context.tls)]);
		report.notes.push(`${rtt}: TLS session tickets sent on one connection: agent ${tickets[0]}, floor ${tickets[1]} (0: no ticket flight in the round trips; bench/no-session-tickets.cnf)`);
		const failureOf = (timing: {ok: number; failures: string[]}) => (timing.failures.length === 0 ? {} : {failure: `${timing.failures.length} of ${timing.ok + timing.failures.length} not ok, e.g. ${timing.failures[0]}`});

		log(`${rtt} (delaying proxies): N=${size} dispatcher, floor and CLI, ${runs} runs each, alternating`);
		const dispatcherRuns: Array<Measured & {roundTrips: number[]}> = [];
		const floorRuns: Array<Measured & {roundTrips: number[]}> = [];
		const cliRuns: Array<Measured & {roundTrips: number[]}> = [];
		for (let run = 0; run < runs; run++) {
			dispatcherRuns.push(await measured(report, `${rtt} N=${size} dispatcher`, 1, processes, async () => {
				const timing = await dispatcherFanOut(targets, fleet.credentials, settings.parallel);
				return {ms: timing.ms, ...failureOf(timing)};
			}));
			floorRuns.push(await measured(report, `${rtt} N=${size} floor`, 1, processes, async () => {
				const timing = await floorFanOut(settings.floorPorts.slice(0, size).map((_, index) => floorProxy(index)), context.tls, settings.parallel);
				return {ms: timing.ms, ...failureOf(timing)};
			}));
			cliRuns.push(await measured(report, `${rtt} N=${size} CLI`, 1, processes, () => cliRun(cliHome, 'all', settings.parallel)));
		}

		const merge = (label: string, each: Array<Measured & {roundTrips: number[]}>, hosts = size) => {
			const samples = each.flatMap(item => item.samples);
			report.notes.push(`${label}: ${samples.map(ms => seconds(ms)).join(', ')}; ${roundTripNote(each.at(-1)!.roundTrips, hosts)}`);
			return {median: median(samples), samples, failedRuns: each.reduce((sum, item) => sum + item.failedRuns, 0)};
		};

		const dispatcher = merge(`${rtt} N=${size} dispatcher`, dispatcherRuns);
		const floor = merge(`${rtt} N=${size} floor`, floorRuns);
		const cli = merge(`${rtt} N=${size} CLI`, cliRuns);
		const rows: Row[] = [
			{measure: `${rtt} N=${size}: dispatcher`, value: seconds(dispatcher.median), ratio: `${ratio(dispatcher.median / floor.median)} floor`, target: '≤ 1.20× floor', verdict: verdict(dispatcher.median <= 1.2 * floor.median, dispatcher, floor)},
			{measure: `${rtt} N=${size}: floor (bare mTLS + spawn)`, value: seconds(floor.median)},
			{measure: `${rtt} N=${size}: CLI run --on all`, value: seconds(cli.median), ratio: `${ratio(cli.median / floor.median)} floor`, ...(cli.failedRuns > 0 ? {verdict: 'INVALID' as const} : {})},
		];

		log(`${rtt}: one-shot CLI --on ${fleet.agents[0]!.name}${sshd ? ' and ssh true' : ''}, ${runs} runs each, alternating`);
		const oneShotHome = cliHome;
		const cliOnce: Array<Measured & {roundTrips: number[]}> = [];
		const sshOnce: Array<Measured & {roundTrips: number[]}> = [];
		for (let run = 0; run < runs; run++) {
			cliOnce.push(await measured(report, `${rtt} one-shot CLI`, 1, processes, () => cliRun(oneShotHome, fleet.agents[0]!.name, settings.parallel)));
			if (sshd && typeof tools !== 'string') {
				sshOnce.push(await measured(report, `${rtt} one-shot ssh`, 1, processes, async () => {
					const finished = await sshRun(tools, sshd, 'true', sshdProxy);
					return finished.code === 0 ? finished : {...finished, failure: `exit ${finished.code}: ${finished.stderr.trim()}`};
				}));
			}
		}

		const oneShot = merge(`${rtt} one-shot CLI`, cliOnce, 1);
		if (sshd && typeof tools !== 'string') {
			const ssh = merge(`${rtt} one-shot ssh true`, sshOnce, 1);
			rows.push(
				{measure: `${rtt} one-shot: CLI run --on ${fleet.agents[0]!.name}`, value: seconds(oneShot.median), ratio: `${ratio(oneShot.median / ssh.median)} ssh`, target: '≤ 0.60× ssh', verdict: verdict(oneShot.median <= 0.6 * ssh.median, oneShot, ssh)},
				{measure: `${rtt} one-shot: ssh host true`, value: seconds(ssh.median)},
			);
			const psshRuns = Math.min(runs, 3);
			for (const parallel of [parallelSshDefault, size]) {
				log(`${rtt}: parallel-ssh -p ${parallel} on ${size} host entries, ${psshRuns} runs`);
				const pssh = await measured(report, `${rtt} N=${size} parallel-ssh -p ${parallel}`, psshRuns, processes, async () => {
					const finished = await parallelSsh(tools, sshd, settings.directory, size, script.path, {port: sshdProxy, parallel});
					return finished.ok === size ? finished : {...finished, failure: `${finished.ok} of ${size} [SUCCESS] (exit ${finished.code})`};
				});
				report.notes.push(`${rtt} N=${size} parallel-ssh -p ${parallel}: ${pssh.samples.map(ms => seconds(ms)).join(', ')}; ${roundTripNote(pssh.roundTrips, size)}`);
				const goal = parallel === size ? 5 : 10;
				rows.push({
					measure: `${rtt} N=${size}: parallel-ssh -p ${parallel}${parallel === parallelSshDefault ? ' (its default)' : ''}`,
					value: seconds(pssh.median),
					ratio: `${ratio(pssh.median / cli.median)} CLI`,
					target: `≥ ${goal}× CLI`,
					verdict: verdict(pssh.median >= goal * cli.median, pssh, cli),
				});
			}
		} else {
			rows.push({measure: `${rtt} one-shot: CLI run --on ${fleet.agents[0]!.name}`, value: seconds(oneShot.median), target: '≤ 0.60× ssh', verdict: 'skipped'});
			report.notes.push(`${rtt}: ssh and parallel-ssh skipped: ${sshSkipped ?? 'no sshd'}`);
		}

		report.rows.push(...rows);
		log(`${rtt}: one-shot steps, ${runs} runs`);
		await measureOneShotSteps(report, {label: rtt, home: cliHome, agent: fleet.agents[0]!.name, runs, directory: settings.directory, cliMedianMs: oneShot.median});
	} finally {
		await proxies.stop();
		await sshd?.stop();
	}
}
