/**
 * `npm run bench`: a loopback fleet, and every performance target of product.md measured in one
 * run, each beside the thing it is compared with:
 *
 *   - fan-out of /usr/bin/uptime on N = 10, 100, 1000 agents through the real dispatcher, against
 *     the floor (a bare loop of mutual-TLS handshakes plus one spawn per connection) on the same
 *     certificates and host processes; for N = 100 also the real built CLI and parallel-ssh; for
 *     N ≥ 1000 the built CLI on every agent with its peak RSS;
 *   - the same agents over the relay (one local nats-server, a relay agent per agent with its own
 *     broker connection: relay-host.ts), with the controller's CPU per agent (measure-fan-out.ts);
 *   - the relay against direct TLS in dry runs (no spawn: what the transport costs), cold (a CLI
 *     run) and warm (a held client context, as serve and the API), each against direct TLS in the
 *     same state, with CPU per agent by side (measure-relay.ts);
 *   - with BENCH_ONLY=threads, the dispatcher over one worker thread per core (measure-threads.ts);
 *   - the same at N = 100, and the one-shot against `ssh host true`, through a delaying proxy
 *     (25 ms each way) in front of every agent, floor server and sshd, with round trips counted
 *     per run and per host (measure-latency.ts);
 *   - RSS of a real `xi-exec-agent start` against a bare node:tls server, idle and during a run
 *     with 1 MiB of output (measure-rss.ts);
 *   - the single executables of `npm run dist`: a one-shot command's start and an idle agent's RSS
 *     against the same programs on this node (measure-release.ts);
 *   - a one-shot CLI call against `ssh host true`, and what it spends where (measure-one-shot.ts);
 *   - the CLI's start-up before any work against `node -e 0` (measure-start.ts);
 *   - the console's first output and terminal bytes per second on 6 and 40 agents, against its core
 *     alone and the CLI (console.ts);
 *   - what durable state writes cost: 200 parallel audit appends and a 100-host run's state
 *     writes, fsynced against page cache only (measure-durability.ts).
 *
 * Settings (environment): BENCH_SIZES=10,100,1000 BENCH_REPS=5 BENCH_WORKERS=4 BENCH_PARALLEL=256
 * BENCH_DELAY_MS=25 (one way; 0 leaves out the delayed runs); BENCH_RELAY=0 (no relay rows);
 * BENCH_ONLY=fan-out,relay,cli-rss,latency,console,ssh,start,rss,release,durability,threads (some sections only);
 * BENCH_FLEET_CACHE=DIR (where minted fleets are kept between runs: fleet-cache.ts);
 * BENCH_PROFILE=DIR (V8 CPU profiles of the host processes), BENCH_HOST_LOGS=DIR (agents' logs).
 * Everything it starts and writes is removed at the end, on an error and on Ctrl-C, except the
 * fleet cache (in $TMPDIR by default).
 */
import {mkdtempSync} from 'node:fs';
import {cpus, loadavg, tmpdir} from 'node:os';
import {join} from 'node:path';
import {performance} from 'node:perf_hooks';
import type {BareHostInput} from './bare-host.js';
import {runBench, stopChild, trackPath} from './cleanup.js';
import {buildNotes, fileLimitNote, floorHost, freePortBlock, loadAverage, machine, measures, readSettings, type Settings} from './environment.js';
import {natsServerMissing, startBroker} from './broker.js';
import type {RelayHostInput} from './relay-host.js';
import {fleetCacheDirectory} from './fleet-cache.js';
import {agentName, controllerHomeWith, createFleet, script, type BenchFleet} from './fleet.js';
import {cpuMs, dealRoundRobin, startHosts} from './hosts.js';
import {findSshTools} from './loopback-sshd.js';
import {measureCliRss} from './measure-cli-rss.js';
import {measureFanOuts, type Ours100, type RelaySetup} from './measure-fan-out.js';
import {measureRelayColdWarm} from './measure-relay.js';
import {measureIdleRss} from './measure-rss.js';
import {measureLatency} from './measure-latency.js';
import {measureOneShotSteps} from './measure-one-shot.js';
import {measureStart} from './measure-start.js';
import {measureThreads} from './measure-threads.js';
import {measureRelease} from './measure-release.js';
import {measureAgainstSsh} from './measure-ssh.js';
import {measureDurability, reportDurability} from './measure-durability.js';
import {measureConsole} from './console.js';
import {createReport, type Report} from './report.js';
import {formatTable, seconds} from './table.js';

const log = (text: string) => process.stderr.write(`bench: ${text}\n`);

async function main(): Promise<number> {
	const settings = readSettings();
	const notes = buildNotes(log);
	if (!notes) {
		return 2;
	}

	const report = createReport();
	report.notes.push(...notes);

	const loadAtStart = loadAverage();
	const limits = fileLimitNote(settings);
	log(`${machine()}; ${limits.note}`);
	if (limits.tooLow) {
		log(`the open-files limit is too low for ${Math.max(...settings.sizes)} agents in ${settings.workers} processes.`);
		return 2;
	}

	// Ports: the agents (and on floorHost the floor's servers, on the same numbers), then the
	// idle-RSS pair and sshd, then the delayed runs' proxies and sshd.
	const largest = Math.max(...settings.sizes);
	const delayedSize = Math.min(100, largest);
	// Only the ports past the agents' (sshd, RSS, proxies) listen on 127.0.0.1.
	const firstPort = await freePortBlock(largest + 7 + (2 * delayedSize) + 1, 7 + (2 * delayedSize) + 1);
	const ports = {floor: firstPort, rss: firstPort + largest, sshd: firstPort + largest + 2, release: firstPort + largest + 4, delayedSshd: firstPort + largest + 6, proxies: firstPort + largest + 7};
	const root = trackPath(mkdtempSync(join(tmpdir(), 'xi-exec-bench-')));
	let started = performance.now();
	const fleet = await createFleet(root, largest, firstPort, log);
	log(`${fleet.minted ? 'minted' : 'took from the fleet cache'} ${largest} agents and wrote their homes (ports ${firstPort}–${firstPort + largest - 1}) in ${seconds(performance.now() - started)}`);
	report.notes.push(`fleet: ${largest} agents, each with its own key and certificate, ${fleet.minted ? 'minted in this run' : 'from the fleet cache'} (${fleetCacheDirectory()}; BENCH_FLEET_CACHE)`);

	started = performance.now();
	const floorPorts = fleet.agents.map((_, index) => ports.floor + index);
	const agentHosts = await startHosts('agent-host.ts', dealRoundRobin(fleet.agents.map(agent => agent.home), settings.workers), root, {readyWithinMs: readyWithinMs(largest, settings.workers)});
	const bareServers = fleet.agents.map((agent, index): BareHostInput['servers'][number] => ({
		port: floorPorts[index]!,
		host: floorHost,
		key: join(agent.home, 'agent.key'),
		cert: join(agent.home, 'agent.pem'),
		ca: join(agent.home, 'ca.pem'),
	}));
	const bareHosts = await startHosts('bare-host.ts', dealRoundRobin(bareServers, settings.workers).map((servers): BareHostInput => ({...(settings.spawn ? {script: script.path} : {}), servers})), root, {readyWithinMs: readyWithinMs(largest, settings.workers)});
	log(`${agentHosts.processes.length} agent-host and ${bareHosts.processes.length} bare-host processes listening in ${seconds(performance.now() - started)}`);

	const relay = settings.relay && (measures(settings, 'fan-out') || measures(settings, 'relay')) ? await startRelay(report, fleet, root, settings.workers, log) : undefined;
	const cliHome = settings.sizes.includes(100) ? await controllerHomeWith(fleet, root, 100) : undefined;
	const ours = measures(settings, 'fan-out') ? await measureFanOuts(report, {fleet, agentHosts, bareHosts, floorPorts, ...(cliHome ? {cliHome} : {}), ...(relay ? {relay} : {})}, settings, log) : {};
	if (relay && measures(settings, 'relay')) {
		await measureRelayColdWarm(report, {fleet, agentHosts, relay, root}, settings, log);
	}

	if (measures(settings, 'cli-rss')) {
		await measureCliRss(report, {fleet, root}, settings, log);
	}

	await relay?.hosts.stop();
	if (measures(settings, 'threads')) {
		await measureThreads(report, {fleet, sizes: settings.sizes, repetitions: settings.repetitions, parallel: settings.parallel, spawn: settings.spawn, agentsCpu: () => cpuMs(agentHosts.processes)}, log);
	}

	if (settings.delayMs > 0 && measures(settings, 'latency')) {
		await measureLatency(report, fleet, findSshTools(), {
			delayMs: settings.delayMs,
			size: delayedSize,
			repetitions: Math.min(settings.repetitions, 5),
			parallel: settings.parallel,
			firstPort: ports.proxies,
			floorPorts,
			sshdPort: ports.delayedSshd,
			directory: trackPath(mkdtempSync(join(root, 'delayed-'))),
			agentHosts: agentHosts.processes,
			floorHosts: bareHosts.processes,
		}, log);
	}

	await bareHosts.stop();
	if (measures(settings, 'console')) {
		await measureConsole(report, {fleet, root, runs: Math.min(settings.repetitions, 3)}, log);
	}

	if (measures(settings, 'ssh')) {
		await measureSsh(report, {settings, ours, root, port: ports.sshd, home: cliHome ?? fleet.controllerHome, agentsCpu: () => cpuMs(agentHosts.processes)}, log);
	}

	await agentHosts.stop();
	if (measures(settings, 'start')) {
		await measureStart(report, {home: cliHome ?? fleet.controllerHome, runs: settings.repetitions}, log);
	}

	if (measures(settings, 'rss')) {
		await measureIdleRss(report, {controllerHome: fleet.controllerHome, root, port: ports.rss, runs: Math.min(settings.repetitions, 3)}, log);
	}

	if (measures(settings, 'release')) {
		await measureRelease(report, {controllerHome: fleet.controllerHome, root, port: ports.release, runs: settings.repetitions}, log);
	}

	if (measures(settings, 'durability')) {
		log(`durable writes, ${settings.repetitions} runs each, fsync against page cache only`);
		reportDurability(report, await measureDurability(root, settings.repetitions), ours.cli?.median);
	}

	const busy = loadavg()[0]! > cpus().length ? ' — the machine is busy with other work: wall times are inflated; ratios of interleaved runs and CPU hold up better' : '';
	process.stdout.write([
		'',
		`Xi-Exec bench — ${machine()}; ${settings.workers} host processes per fleet; script ${script.path}; parallel ${settings.parallel}${relay ? `; relay: ${relay.version}` : ''}`,
		`median of ${settings.repetitions} runs (N≥1000, parallel-ssh and RSS: ${Math.min(settings.repetitions, 3)}); CPU = user + system of the client and of the host processes with their scripts`,
		`load average at start ${loadAtStart}, at end ${loadAverage()}${busy}`,
		'',
		formatTable(report.rows),
		'Runs and notes:',
		...report.notes.map(note => `  ${note}`),
		'',
	].join('\n'));
	// A missed target is a finding to report, not a failure of the bench.
	return 0;
}

/** One local nats-server and a relay agent for every agent of the fleet, in their own host processes. */
async function startRelay(report: Report, fleet: BenchFleet, root: string, workers: number, log: (text: string) => void): Promise<RelaySetup & {version: string} | undefined> {
	const missing = natsServerMissing();
	if (missing) {
		log(`no relay rows: ${missing}`);
		report.notes.push(`relay rows left out: ${missing}`);
		return undefined;
	}

	const started = performance.now();
	const broker = await startBroker(fleet.controllerHome, mkdtempSync(join(root, 'broker-')), fleet.agents.map(agent => agent.name));
	// Each relay agent makes its own TLS connection to the broker: thousands take minutes on a busy machine.
	const relayHosts = await startHosts('relay-host.ts', dealRoundRobin(fleet.agents.map(agent => agent.home), workers).map((homes): RelayHostInput => ({url: broker.url, homes})), root, {readyWithinMs: readyWithinMs(fleet.agents.length, workers)});
	log(`${fleet.agents.length} relay agents connected to ${broker.version} at ${broker.url} from ${relayHosts.processes.length} processes in ${seconds(performance.now() - started)}`);
	return {
		url: broker.url,
		version: broker.version,
		hosts: {
			processes: [...relayHosts.processes, broker.process],
			async stop() {
				await relayHosts.stop();
				await stopChild(broker.process);
			},
		},
	};
}

type SshSection = {settings: Settings; ours: Ours100; root: string; port: number; home: string; agentsCpu: () => number};

/** Parallel-ssh at N=100 and the one-shot against `ssh host true`, with the one-shot's steps. */
async function measureSsh(report: Report, options: SshSection, log: (text: string) => void): Promise<void> {
	const {settings} = options;
	const oneShotMs = await measureAgainstSsh(report, findSshTools(), options.ours, {
		repetitions: settings.repetitions,
		parallel: settings.parallel,
		directory: join(options.root, 'sshd'),
		port: options.port,
		oneShotHome: options.home,
		oneShotAgent: agentName(0),
		agentsCpu: options.agentsCpu,
	}, log);
	log(`one-shot steps on loopback, ${settings.repetitions} runs`);
	await measureOneShotSteps(report, {label: 'loopback', home: options.home, agent: agentName(0), runs: settings.repetitions, directory: options.root, cliMedianMs: oneShotMs});
}

/**
 * How long host processes may take to report ready: 3 min, plus 0.3 s per agent each hosts (a
 * relay agent's TLS connection to the broker, an agent's allowlist checks: ~0.15 s under load 25).
 */
function readyWithinMs(agents: number, workers: number): number {
	return 180_000 + (300 * Math.ceil(agents / workers));
}

await runBench(main, log);
