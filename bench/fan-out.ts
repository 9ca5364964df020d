/**
 * `npm run bench`: a loopback fleet, and every performance target of product.md measured in one
 * run, each beside the thing it is compared with:
 *
 *   - fan-out of /usr/bin/uptime on N = 10, 100, 1000 agents through the real dispatcher, against
 *     the floor (a bare loop of mutual-TLS handshakes plus one spawn per connection) on the same
 *     certificates and host processes; for N = 100 also the real built CLI and parallel-ssh;
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
 * BENCH_DELAY_MS=25 (one way; 0 leaves out the delayed runs);
 * BENCH_PROFILE=DIR (V8 CPU profiles of the host processes), BENCH_HOST_LOGS=DIR (agents' logs).
 * Everything it starts and writes is removed at the end, on an error and on Ctrl-C.
 */
import {mkdtempSync} from 'node:fs';
import {cpus, loadavg, tmpdir} from 'node:os';
import {join} from 'node:path';
import {performance} from 'node:perf_hooks';
import type {BareHostInput} from './bare-host.js';
import {cleanUp, cleanUpOnSignals, interrupted, trackPath} from './cleanup.js';
import {fileLimitNote, freePortBlock, machine, missingBuild, readSettings, staleBuild} from './environment.js';
import {agentName, controllerHomeWith, createFleet, script} from './fleet.js';
import {cpuMs, dealRoundRobin, startHosts} from './hosts.js';
import {findSshTools} from './loopback-sshd.js';
import {measureFanOuts} from './measure-fan-out.js';
import {measureIdleRss} from './measure-rss.js';
import {measureLatency} from './measure-latency.js';
import {measureOneShotSteps} from './measure-one-shot.js';
import {measureStart} from './measure-start.js';
import {measureRelease} from './measure-release.js';
import {measureAgainstSsh} from './measure-ssh.js';
import {measureDurability, reportDurability} from './measure-durability.js';
import {measureConsole} from './console.js';
import {createReport} from './report.js';
import {formatTable, seconds} from './table.js';

const log = (text: string) => process.stderr.write(`bench: ${text}\n`);
const loadAverage = () => loadavg().map(value => value.toFixed(1)).join(' ');

async function main(): Promise<number> {
	const settings = readSettings();
	const unbuilt = missingBuild();
	if (unbuilt) {
		log(unbuilt);
		return 2;
	}

	const report = createReport();
	const stale = staleBuild();
	if (stale) {
		log(`warning: ${stale}`);
		report.notes.push(`warning: ${stale}`);
	}

	const loadAtStart = loadAverage();
	const limits = fileLimitNote(settings);
	log(`${machine()}; ${limits.note}`);
	if (limits.tooLow) {
		log(`the open-files limit is too low for ${Math.max(...settings.sizes)} agents in ${settings.workers} processes.`);
		return 2;
	}

	// Ports: the agents, then the floor's servers, then the idle-RSS pair and sshd, then the delayed runs' proxies and sshd.
	const largest = Math.max(...settings.sizes);
	const delayedSize = Math.min(100, largest);
	const firstPort = await freePortBlock((2 * largest) + 7 + (2 * delayedSize) + 1);
	const ports = {floor: firstPort + largest, rss: firstPort + (2 * largest), sshd: firstPort + (2 * largest) + 2, release: firstPort + (2 * largest) + 4, delayedSshd: firstPort + (2 * largest) + 6, proxies: firstPort + (2 * largest) + 7};
	const root = trackPath(mkdtempSync(join(tmpdir(), 'xi-exec-bench-')));
	let started = performance.now();
	const fleet = await createFleet(root, largest, firstPort);
	log(`minted ${largest} agents (ports ${firstPort}–${firstPort + largest - 1}) in ${seconds(performance.now() - started)}`);

	started = performance.now();
	const floorPorts = fleet.agents.map((_, index) => ports.floor + index);
	const agentHosts = await startHosts('agent-host.ts', dealRoundRobin(fleet.agents.map(agent => agent.home), settings.workers), root);
	const bareServers = fleet.agents.map((agent, index): BareHostInput['servers'][number] => ({
		port: floorPorts[index]!,
		key: join(agent.home, 'agent.key'),
		cert: join(agent.home, 'agent.pem'),
		ca: join(agent.home, 'ca.pem'),
	}));
	const bareHosts = await startHosts('bare-host.ts', dealRoundRobin(bareServers, settings.workers).map(servers => ({script: script.path, servers})), root);
	log(`${agentHosts.processes.length} agent-host and ${bareHosts.processes.length} bare-host processes listening in ${seconds(performance.now() - started)}`);

	const cliHome = settings.sizes.includes(100) ? await controllerHomeWith(fleet, root, 100) : undefined;
	const ours = await measureFanOuts(report, {fleet, agentHosts, bareHosts, floorPorts, ...(cliHome ? {cliHome} : {})}, settings, log);
	if (settings.delayMs > 0) {
		await measureLatency(report, fleet, findSshTools(), {
			delayMs: settings.delayMs,
			size: delayedSize,
			repetitions: Math.min(settings.repetitions, 5),
			parallel: settings.parallel,
			firstPort: ports.proxies,
			floorPorts,
			sshdPort: ports.delayedSshd,
			directory: trackPath(mkdtempSync(join(root, 'delayed-'))),
		}, log);
	}

	await bareHosts.stop();
	await measureConsole(report, {fleet, root, runs: Math.min(settings.repetitions, 3)}, log);
	const oneShotMs = await measureAgainstSsh(report, findSshTools(), ours, {
		repetitions: settings.repetitions,
		parallel: settings.parallel,
		directory: join(root, 'sshd'),
		port: ports.sshd,
		oneShotHome: cliHome ?? fleet.controllerHome,
		oneShotAgent: agentName(0),
		agentsCpu: () => cpuMs(agentHosts.processes),
	}, log);
	log(`one-shot steps on loopback, ${settings.repetitions} runs`);
	await measureOneShotSteps(report, {label: 'loopback', home: cliHome ?? fleet.controllerHome, agent: agentName(0), runs: settings.repetitions, directory: root, cliMedianMs: oneShotMs});
	await agentHosts.stop();
	await measureStart(report, {home: cliHome ?? fleet.controllerHome, runs: settings.repetitions}, log);
	await measureIdleRss(report, {controllerHome: fleet.controllerHome, root, port: ports.rss, runs: Math.min(settings.repetitions, 3)}, log);
	await measureRelease(report, {controllerHome: fleet.controllerHome, root, port: ports.release, runs: settings.repetitions}, log);
	log(`durable writes, ${settings.repetitions} runs each, fsync against page cache only`);
	reportDurability(report, await measureDurability(root, settings.repetitions), ours.cli?.median);

	const busy = loadavg()[0]! > cpus().length ? ' — the machine is busy with other work: wall times are inflated; ratios of interleaved runs and CPU hold up better' : '';
	process.stdout.write([
		'',
		`Xi-Exec bench — ${machine()}; ${settings.workers} host processes per fleet; script ${script.path}; parallel ${settings.parallel}`,
		`median of ${settings.repetitions} runs (N=1000, parallel-ssh and RSS: ${Math.min(settings.repetitions, 3)}); CPU = user + system of the client and of the host processes with their scripts`,
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

cleanUpOnSignals();
let status = 1;
try {
	status = await main();
} catch (error) {
	// After Ctrl-C the fleet is going away under the measurement: that error is expected.
	if (interrupted() === undefined) {
		log((error as Error).stack ?? String(error));
	}
} finally {
	await cleanUp();
}

process.exit(interrupted() ?? status);
