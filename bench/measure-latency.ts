/**
 * The world an operator feels on a real network: every connection of the N=100 comparisons and of
 * the one-shot goes through the bench's delaying proxy (delay-proxy.ts, `delayMs` each way, so a
 * round trip of twice that) — the agents, the floor's bare servers and the loopback sshd alike,
 * the proxies in processes of their own. Runs alternate as on loopback. Beside each time, the
 * round trips the proxies counted (per run, every connection's, summed; and per host), and the CPU
 * of each side apart: the controller's (this process for the dispatcher and the floor; the CLI, or
 * parallel-ssh with its ssh clients), the hosts' (agent or floor host processes with their
 * scripts; sshd with its sessions) and the proxies'.
 *
 * On one 2-core machine those runs are bound by CPU, not by round trips: every host's CPU shares
 * the controller's cores (the notes say how many cores were busy). So the same measurements also
 * feed a model of the latency-bound world, each host on a machine of its own (latency-model.ts):
 * the "model" rows, judged against the same targets, beside the measured ones.
 */
import type {ChildProcess} from 'node:child_process';
import {cpus} from 'node:os';
import {createClientContext} from '../source/dispatch/agent-connection.js';
import type {DelayHostInput} from './delay-host.js';
import type {ProxyRoute} from './delay-proxy.js';
import {controllerHomeWith, script, type BenchFleet} from './fleet.js';
import {floorFanOut, type FanOutTiming} from './floor.js';
import {agentHost, floorHost} from './environment.js';
import type {HostMessage} from './host-protocol.js';
import {cpuMs, dealRoundRobin, ownCpuMs, reapedChildrenCpuMs, startHosts} from './hosts.js';
import {latencyBound, type Modelled, type SideCost} from './latency-model.js';
import {parallelSsh, parallelSshDefault, sshRun, startLoopbackSshd, type LoopbackSshd, type SshTools} from './loopback-sshd.js';
import {measureOneShotSteps} from './measure-one-shot.js';
import {cliRun, dispatcherFanOut} from './ours.js';
import {baseCli, plannedFromCache} from './plan-cache-count.js';
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
	/** The agents' and the floor's host processes, whose CPU each run costs on the hosts' side. */
	agentHosts: readonly ChildProcess[];
	floorHosts: readonly ChildProcess[];
};

/** Where a run's CPU is read: the controller's side, and the hosts' side. */
type Sides = {controller: () => number; hosts: () => number};

type Counted = Attempt & {roundTrips: number[]; controllerCpu: number; hostCpu: number; proxyCpu: number};

/** A comparison's runs: wall times, round trips of the last run, and the CPU of each side per run. */
type Sampled = Measured & {roundTrips: number[]; controllerCpu: number[]; hostCpu: number[]; proxyCpu: number[]};

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

/** `label`: wall times, the round trips of the last run (every run makes the same connections), each side's CPU per run. */
async function measured(report: Report, label: string, times: number, proxies: readonly ChildProcess[], sides: Sides, run: () => Promise<Attempt>): Promise<Sampled> {
	const samples: Counted[] = [];
	await takeCounts(proxies);
	for (let index = 0; index < times; index++) {
		const before = {controller: sides.controller(), hosts: sides.hosts(), proxies: cpuMs(proxies)};
		const attempt = await run();
		// After takeCounts' pause: sshd has reaped its sessions, whose CPU it then carries.
		const roundTrips = await takeCounts(proxies);
		samples.push({...attempt, roundTrips, controllerCpu: sides.controller() - before.controller, hostCpu: sides.hosts() - before.hosts, proxyCpu: cpuMs(proxies) - before.proxies});
		if (attempt.failure) {
			report.notes.push(`${label}, run ${index + 1}: ${attempt.failure}`);
		}
	}

	const walls = samples.map(sample => sample.ms);
	return {
		median: median(walls),
		samples: walls,
		failedRuns: samples.filter(sample => sample.failure).length,
		roundTrips: samples.at(-1)?.roundTrips ?? [],
		controllerCpu: samples.map(sample => sample.controllerCpu),
		hostCpu: samples.map(sample => sample.hostCpu),
		proxyCpu: samples.map(sample => sample.proxyCpu),
	};
}

/** `412 round trips in 200 connections; per host 4 (2 connections)` */
function roundTripNote(roundTrips: readonly number[], hosts: number): string {
	const total = roundTrips.reduce((sum, count) => sum + count, 0);
	return `${total} round trips in ${roundTrips.length} connections; per host ${(total / hosts).toFixed(1)} in ${(roundTrips.length / hosts).toFixed(1)} connections`;
}

const perHost = (roundTrips: readonly number[], hosts: number) => roundTrips.reduce((sum, count) => sum + count, 0) / hosts;

/** One comparison's runs put together: medians, and a note with every run, its round trips and each side's CPU. */
type Merged = Measured & {roundTrips: number[]; controllerCpu: number; hostCpu: number; proxyCpu: number};

/**
 * What each host's round trips are, by what the client waits for: the proxy counts them, this names
 * them. A run asks a host what it runs before the request is recorded (`describe`: the blast-radius
 * limits are the smallest over every target's current entry), on the connection the run then
 * takes, unless the host's entry is in the description cache (core/cached-plan.ts): a run without
 * arguments is planned from the cache for every host that has one.
 */
const roundTripKinds = {
	direct: 'TCP, TLS 1.3 handshake, run',
	described: 'TCP, TLS 1.3 handshake, describe, run',
	ssh: 'TCP, then OpenSSH\'s version and key exchange, service request, user authentication, session channel and exec',
};

function merge(report: Report, label: string, each: readonly Sampled[], hosts: number, kinds?: string): Merged {
	const samples = each.flatMap(item => item.samples);
	const cpu = (pick: (item: Sampled) => number[]) => median(each.flatMap(item => pick(item)));
	const merged = {
		median: median(samples),
		samples,
		failedRuns: each.reduce((sum, item) => sum + item.failedRuns, 0),
		roundTrips: each.at(-1)!.roundTrips,
		controllerCpu: cpu(item => item.controllerCpu),
		hostCpu: cpu(item => item.hostCpu),
		proxyCpu: cpu(item => item.proxyCpu),
	};
	const busy = (merged.controllerCpu + merged.hostCpu + merged.proxyCpu) / merged.median;
	report.notes.push(`${label}: ${samples.map(ms => seconds(ms)).join(', ')}; ${roundTripNote(merged.roundTrips, hosts)}${kinds ? ` (${kinds})` : ''}; CPU controller ${seconds(merged.controllerCpu)}, hosts ${seconds(merged.hostCpu)}, proxies ${seconds(merged.proxyCpu)}: ${busy.toFixed(1)} of ${cpus().length} cores busy`);
	return merged;
}

/** The controller the model is also worked out for (the issue's "say it for 16"). */
const largerController = 16;

const cpuCell = (merged: Merged) => seconds(merged.controllerCpu + merged.hostCpu);

type Context = {report: Report; settings: LatencySettings; rtt: string; proxies: readonly ChildProcess[]; agents: Sides; floor: Sides; cliSides: Sides};

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
		const agentsCpu = () => cpuMs(settings.agentHosts);
		const context: Context = {
			report,
			settings,
			rtt,
			proxies: proxies.processes,
			agents: {controller: ownCpuMs, hosts: agentsCpu},
			floor: {controller: ownCpuMs, hosts: () => cpuMs(settings.floorHosts)},
			cliSides: {controller: reapedChildrenCpuMs, hosts: agentsCpu},
		};
		const tls = createClientContext(fleet.credentials);
		const tickets = await Promise.all([sessionTickets(agentHost, fleet.agents[0]!.port, tls.tls), sessionTickets(floorHost, settings.floorPorts[0]!, tls.tls)]);
		report.notes.push(`${rtt}: TLS session tickets sent on one connection: agent ${tickets[0]}, floor ${tickets[1]} (0: no ticket flight in the round trips; bench/no-session-tickets.cnf)`);
		const cliHome = await controllerHomeWith(fleet, settings.directory, size, agentProxy);
		log(`${rtt} (delaying proxies): N=${size} dispatcher, floor and CLI, ${settings.repetitions} runs each, alternating`);
		// Not counted: the first CLI run describes every host and fills the description cache, as an operator's first run does.
		const warmUp = await cliRun(cliHome, 'all', settings.parallel);
		report.notes.push(`${rtt} N=${size} CLI: one uncounted run first (${warmUp.failure ?? 'ok'}), which fills the description cache`);
		const base = baseCli();
		const fanOut = await measureFanOut(context, {
			dispatcher: () => dispatcherFanOut(fleet.agents.slice(0, size).map((agent, index) => ({...agent.record, address: `127.0.0.1:${agentProxy(index)}`})), fleet.credentials, settings.parallel),
			floor: () => floorFanOut(settings.floorPorts.slice(0, size).map((_, index) => floorProxy(index)), tls.tls, settings.parallel),
			cli: () => cliRun(cliHome, 'all', settings.parallel),
			cached: async () => plannedFromCache(cliHome, script.name),
			...(base ? {cliBase: {label: base.label, run: () => cliRun(cliHome, 'all', settings.parallel, base.cli)}} : {}),
		});
		const agent = fleet.agents[0]!.name;
		log(`${rtt}: one-shot CLI --on ${agent}${sshd ? ' and ssh true' : ''}, ${settings.repetitions} runs each, alternating`);
		const ssh = sshd && typeof tools !== 'string' ? {tools, sshd, port: sshdProxy} : undefined;
		const oneShotMs = await measureOneShot(context, agent, () => cliRun(cliHome, agent, settings.parallel), ssh);
		if (ssh) {
			await measureParallelSsh(context, ssh, fanOut, log);
		} else {
			report.notes.push(`${rtt}: ssh and parallel-ssh skipped: ${sshSkipped ?? 'no sshd'}`);
		}

		log(`${rtt}: one-shot steps, ${settings.repetitions} runs`);
		await measureOneShotSteps(report, {label: rtt, home: cliHome, agent, runs: settings.repetitions, directory: settings.directory, cliMedianMs: oneShotMs});
	} finally {
		await proxies.stop();
		await sshd?.stop();
	}
}

const failureOf = (timing: {ok: number; failures: string[]}) => (timing.failures.length === 0 ? {} : {failure: `${timing.failures.length} of ${timing.ok + timing.failures.length} not ok, e.g. ${timing.failures[0]}`});

/** `cached`: how many of the CLI's hosts it plans from the description cache; `cliBase`: another checkout's CLI (BENCH_BASE), interleaved. */
type FanOuts = {dispatcher: () => Promise<FanOutTiming>; floor: () => Promise<FanOutTiming>; cli: () => Promise<Attempt>; cached: () => Promise<string>; cliBase?: {label: string; run: () => Promise<Attempt>}};
type FanOutResults = {dispatcher: Merged; floor: Merged; cli: Merged};

/** The dispatcher, the floor and the CLI at N, alternating; their measured rows and their model rows. */
async function measureFanOut(context: Context, run: FanOuts): Promise<FanOutResults> {
	const {report, settings, rtt, proxies} = context;
	const {size} = settings;
	const each: Record<'dispatcher' | 'floor' | 'cli' | 'cliBase', Sampled[]> = {dispatcher: [], floor: [], cli: [], cliBase: []};
	const cached = new Set<string>();
	for (let index = 0; index < settings.repetitions; index++) {
		each.dispatcher.push(await measured(report, `${rtt} N=${size} dispatcher`, 1, proxies, context.agents, async () => {
			const timing = await run.dispatcher();
			return {ms: timing.ms, ...failureOf(timing)};
		}));
		each.floor.push(await measured(report, `${rtt} N=${size} floor`, 1, proxies, context.floor, async () => {
			const timing = await run.floor();
			return {ms: timing.ms, ...failureOf(timing)};
		}));
		cached.add(await run.cached());
		each.cli.push(await measured(report, `${rtt} N=${size} CLI`, 1, proxies, context.cliSides, run.cli));
		if (run.cliBase) {
			each.cliBase.push(await measured(report, `${rtt} N=${size} CLI ${run.cliBase.label}`, 1, proxies, context.cliSides, run.cliBase.run));
		}
	}

	const dispatcher = merge(report, `${rtt} N=${size} dispatcher`, each.dispatcher, size, roundTripKinds.direct);
	const floor = merge(report, `${rtt} N=${size} floor`, each.floor, size, roundTripKinds.direct);
	const fromCache = [...cached].join(' / ');
	const cli = merge(report, `${rtt} N=${size} CLI (planned from cache: ${fromCache})`, each.cli, size, perHost(each.cli.at(-1)!.roundTrips, size) === 3 ? roundTripKinds.direct : roundTripKinds.described);
	const controllerPerHost = (merged: Merged) => `controller ${(merged.controllerCpu / size).toFixed(2)} ms/host`;
	report.rows.push(
		{measure: `${rtt} N=${size}: dispatcher`, value: seconds(dispatcher.median), cpu: cpuCell(dispatcher), ratio: `${ratio(dispatcher.median / floor.median)} floor`, target: '≤ 1.20× floor', verdict: verdict(dispatcher.median <= 1.2 * floor.median, dispatcher, floor)},
		{measure: `${rtt} N=${size}: floor (bare mTLS + spawn)`, value: seconds(floor.median), cpu: cpuCell(floor)},
		{measure: `${rtt} N=${size}: CLI run --on all (planned from cache: ${fromCache}; ${perHost(cli.roundTrips, size).toFixed(1)} round trips/host; ${controllerPerHost(cli)})`, value: seconds(cli.median), cpu: cpuCell(cli), ratio: `${ratio(cli.median / floor.median)} floor`, ...(cli.failedRuns > 0 ? {verdict: 'INVALID' as const} : {})},
	);
	if (run.cliBase) {
		const base = merge(report, `${rtt} N=${size} CLI ${run.cliBase.label}`, each.cliBase, size, roundTripKinds.described);
		report.rows.push({measure: `  ${rtt} N=${size}: CLI ${run.cliBase.label} (${perHost(base.roundTrips, size).toFixed(1)} round trips/host; ${controllerPerHost(base)})`, value: seconds(base.median), cpu: cpuCell(base), ratio: `${ratio(base.median / cli.median)} this CLI`, ...(base.failedRuns > 0 ? {verdict: 'INVALID' as const} : {})});
	}

	return {dispatcher, floor, cli};
}

type Ssh = {tools: SshTools; sshd: LoopbackSshd; port: number};

/** The one-shot CLI against `ssh host true`, alternating; returns the CLI's median. */
async function measureOneShot(context: Context, agent: string, cli: () => Promise<Attempt>, ssh: Ssh | undefined): Promise<number> {
	const {report, settings, rtt, proxies} = context;
	const cliOnce: Sampled[] = [];
	const sshOnce: Sampled[] = [];
	// Not counted: the first one-shot on a host describes it live and caches its description, as an operator's first one does.
	const warmUp = await cli();
	report.notes.push(`${rtt} one-shot CLI: one uncounted run first (${warmUp.failure ?? 'ok'}), which fills the description cache`);
	for (let run = 0; run < settings.repetitions; run++) {
		cliOnce.push(await measured(report, `${rtt} one-shot CLI`, 1, proxies, context.cliSides, cli));
		if (ssh) {
			sshOnce.push(await measured(report, `${rtt} one-shot ssh`, 1, proxies, sshSides(ssh), async () => {
				const finished = await sshRun(ssh.tools, ssh.sshd, 'true', ssh.port);
				return finished.code === 0 ? finished : {...finished, failure: `exit ${finished.code}: ${finished.stderr.trim()}`};
			}));
		}
	}

	const oneShot = merge(report, `${rtt} one-shot CLI`, cliOnce, 1, roundTripKinds.direct);
	if (!ssh) {
		report.rows.push({measure: `${rtt} one-shot: CLI run --on ${agent}`, value: seconds(oneShot.median), cpu: cpuCell(oneShot), target: '≤ 0.60× ssh', verdict: 'skipped'});
		return oneShot.median;
	}

	const sshTrue = merge(report, `${rtt} one-shot ssh true`, sshOnce, 1, roundTripKinds.ssh);
	report.rows.push(
		{measure: `${rtt} one-shot: CLI run --on ${agent}`, value: seconds(oneShot.median), cpu: cpuCell(oneShot), ratio: `${ratio(oneShot.median / sshTrue.median)} ssh`, target: '≤ 0.60× ssh', verdict: verdict(oneShot.median <= 0.6 * sshTrue.median, oneShot, sshTrue)},
		{measure: `${rtt} one-shot: ssh host true`, value: seconds(sshTrue.median), cpu: cpuCell(sshTrue)},
	);
	return oneShot.median;
}

/** parallel-ssh's side: the ssh clients it spawns (reaped by it, then by us) and sshd with its sessions. */
const sshSides = (ssh: Ssh): Sides => ({controller: reapedChildrenCpuMs, hosts: () => cpuMs([ssh.sshd.process])});

/** parallel-ssh at its default parallelism and at one per host, measured; then every comparison again in the latency-bound model. */
async function measureParallelSsh(context: Context, ssh: Ssh, ours: FanOutResults, log: (text: string) => void): Promise<void> {
	const {report, settings, rtt, proxies} = context;
	const {size} = settings;
	const runs = Math.min(settings.repetitions, 3);
	const measuredRows: Row[] = [];
	const modelled: Array<{parallel: number; pssh: Merged}> = [];
	for (const parallel of [parallelSshDefault, size]) {
		log(`${rtt}: parallel-ssh -p ${parallel} on ${size} host entries, ${runs} runs`);
		const sampled = await measured(report, `${rtt} N=${size} parallel-ssh -p ${parallel}`, runs, proxies, sshSides(ssh), async () => {
			const finished = await parallelSsh(ssh.tools, ssh.sshd, settings.directory, size, script.path, {port: ssh.port, parallel});
			return finished.ok === size ? finished : {...finished, failure: `${finished.ok} of ${size} [SUCCESS] (exit ${finished.code})`};
		});
		const pssh = merge(report, `${rtt} N=${size} parallel-ssh -p ${parallel}`, [sampled], size, roundTripKinds.ssh);
		const goal = parallel === size ? 5 : 10;
		measuredRows.push({
			measure: `${rtt} N=${size}: parallel-ssh -p ${parallel}${parallel === parallelSshDefault ? ' (its default)' : ''}`,
			value: seconds(pssh.median),
			cpu: cpuCell(pssh),
			ratio: `${ratio(pssh.median / ours.cli.median)} CLI`,
			target: `≥ ${goal}× CLI`,
			verdict: verdict(pssh.median >= goal * ours.cli.median, pssh, ours.cli),
		});
		modelled.push({parallel, pssh});
	}

	report.rows.push(...measuredRows);
	modelRows(context, ours, modelled);
}

/**
 * The latency-bound world (latency-model.ts): every comparison again from what its runs measured,
 * each host on a machine of its own. Our dispatcher, floor and CLI are one node thread each; the
 * ssh clients use every core of the controller.
 */
function modelRows(context: Context, ours: FanOutResults, pssh: ReadonlyArray<{parallel: number; pssh: Merged}>): void {
	const {report, settings, rtt} = context;
	const {size} = settings;
	const cost = (merged: Merged, parallel: number, controllerCores: number): SideCost => ({
		hosts: size,
		parallel,
		roundTrips: perHost(merged.roundTrips, size),
		rttMs: 2 * settings.delayMs,
		hostCpuMs: merged.hostCpu / size,
		controllerCpuMs: merged.controllerCpu,
		controllerCores,
	});
	const model = (label: string, merged: Merged, parallel: number, cores: number): Modelled => {
		const result = latencyBound(cost(merged, parallel, cores));
		report.notes.push(`model ${label}: ${seconds(result.ms)}, bound by ${result.bound}: controller CPU ${seconds(merged.controllerCpu)} over ${cores} ${cores === 1 ? 'core' : 'cores'} = ${seconds(result.cpuTermMs)}; path ${Math.ceil(size / Math.min(parallel, size))} × (${perHost(merged.roundTrips, size).toFixed(1)} round trips × ${2 * settings.delayMs} ms + host CPU ${(merged.hostCpu / size).toFixed(1)} ms + controller CPU ${(merged.controllerCpu / size).toFixed(1)} ms per host) = ${seconds(result.pathTermMs)}`);
		return result;
	};

	const prefix = `${rtt} N=${size} model, hosts on their own machines`;
	const dispatcher = model('dispatcher', ours.dispatcher, settings.parallel, 1);
	const floor = model('floor', ours.floor, settings.parallel, 1);
	const cli = model('CLI', ours.cli, settings.parallel, 1);
	report.rows.push(
		{measure: `${prefix}: dispatcher`, value: seconds(dispatcher.ms), ratio: `${ratio(dispatcher.ms / floor.ms)} floor`, target: '≤ 1.20× floor', verdict: verdict(dispatcher.ms <= 1.2 * floor.ms, ours.dispatcher, ours.floor)},
		{measure: `${prefix}: floor`, value: seconds(floor.ms)},
		{measure: `${prefix}: CLI run --on all`, value: seconds(cli.ms), ratio: `${ratio(cli.ms / floor.ms)} floor`},
	);
	for (const {parallel, pssh: merged} of pssh) {
		const modelled = model(`parallel-ssh -p ${parallel}`, merged, parallel, cpus().length);
		const goal = parallel === size ? 5 : 10;
		report.rows.push({measure: `${prefix}: parallel-ssh -p ${parallel}`, value: seconds(modelled.ms), ratio: `${ratio(modelled.ms / cli.ms)} CLI`, target: `≥ ${goal}× CLI`, verdict: verdict(modelled.ms >= goal * cli.ms, merged, ours.cli)});
		// A larger controller spreads the ssh clients further; our CLI stays one thread.
		const larger = latencyBound(cost(merged, parallel, largerController));
		report.notes.push(`model parallel-ssh -p ${parallel} on a ${largerController}-core controller: ${seconds(larger.ms)}, bound by ${larger.bound}: ${ratio(larger.ms / cli.ms)} the CLI`);
	}
}
