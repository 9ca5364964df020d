/**
 * `xi-exec-agent start`: the foreground daemon. Checks its own files (the CA must match the pinned
 * hash), loads the allowlist, listens, reloads on SIGHUP, and on SIGTERM/SIGINT cancels running
 * scripts and exits. Logs one JSON line per event on stdout. This file composes the steps:
 * start-files.ts (what is read and checked first), start-hook.ts, start-reload.ts (SIGHUP),
 * home-credential-store.ts, inherited-descriptors.ts.
 */
import {rmSync, writeFileSync} from 'node:fs';
import {constants as osConstants} from 'node:os';
import type {Server} from 'node:tls';
import {XiError} from '../source/errors.js';
import {formatHostPort, type HostPort} from '../source/io/address.js';
import {standardOutput} from '../source/io/standard-output.js';
import type {AgentLog} from './execute-run.js';
import {openStartRecords} from './start-records.js';
import {homeCredentialStore} from './home-credential-store.js';
import type {AgentConfig, AgentPaths} from './home.js';
import {inheritedAtExec} from './at-exec.js';
import {closeInherited} from './inherited-descriptors.js';
import type {LoadedAllowlist} from './loaded-allowlist.js';
import {formatLogLine} from './log-line.js';
import type {RunningMetrics} from './metrics/start-metrics.js';
import {ownersFor, runAsIds} from './owners.js';
import type {Pins} from './pins.js';
import type {RelayStart} from './relay-start.js';
import type {AgentCredentials} from './credentials.js';
import {acceptPolicyAtStart} from './policy-snapshot.js';
import {detectRunCgroups, runCgroupOwner, type RunCgroups} from './run-cgroup.js';
import {RunSlots} from './run-slots.js';
import {createAgentServer} from './server.js';
import {readStartFiles} from './start-files.js';
import {startHook} from './start-hook.js';
import {loadAllowlistOf, reloadAgent, serialReloads, type ReloadPorts} from './start-reload.js';

/** The daemon's log on stdout: safe JSON lines, and a reader going away never stops the agent. */
export const stdoutLog: AgentLog = (event, fields) => {
	standardOutput().stdout.write(formatLogLine(event, fields, new Date()));
};

export async function startAgent(paths: AgentPaths, printLog: AgentLog = stdoutLog): Promise<number> {
	// A signal during start-up (its audit lock held, run cgroups reaped, the relay being joined) is
	// not node's default (death, the lock left to outwait; a SIGHUP killed it): kept, and acted on
	// once it listens. A second stop during start-up (a start-up that waits: Ctrl-C twice) stops at once.
	const early = signalsDuringStartUp(printLog);
	try {
		// Only what this process held at exec, read before any module loaded: never a descriptor the runtime opened since.
		const inherited = closeInherited(inheritedAtExec);
		if (inherited.length > 0) {
			printLog('descriptors.closed', {descriptors: inherited, reason: 'inherited without close-on-exec; scripts would get them'});
		}

		return await startListening(paths, printLog, early);
	} finally {
		early.end();
	}
}

async function startListening(paths: AgentPaths, printLog: AgentLog, early: EarlySignals): Promise<number> {
	// With "metrics" in config.json, every event logged is also counted (agent/metrics/).
	let metrics: RunningMetrics | undefined;
	const log: AgentLog = (event, fields) => {
		metrics?.observe(event, fields);
		printLog(event, fields);
	};

	const {config, pins, credentials, listen} = readStartFiles(paths, new Date());
	let allowlist: LoadedAllowlist = await loadAllowlistOf(paths, log);
	// policy.json is checked whole before anything else uses it; the hook reads the accepted copy.
	acceptPolicyAtStart(paths);
	const {hook, check: checkHook} = startHook(config, paths, log);
	const {audit, recorder, homeProblem, checkpoint, replayMemory} = await openStartRecords(paths, config, pins, log);
	// The home's audit lock is this process's now: a pid file still here was left by an agent that died, and may name another process.
	rmSync(paths.pid, {force: true});
	const cgroups = await runCgroupsOf(config, paths, log);
	let stop: (reason: string) => void = () => undefined;
	// What the relay signs with and checks against: kept current through renewals and pin changes.
	let current = {credentials, pins};
	const slots = new RunSlots(config.limits.maxConcurrentRuns, config.limits.maxQueuedRuns);
	// What every run is checked and recorded with, over direct TLS and over the relay alike: one list,
	// so a check added for one transport cannot be missing from the other.
	const runChecks = {
		ownersFor,
		runAsIds,
		log,
		recorder,
		...(hook ? {hook} : {}),
		homeProblem,
		now: Date.now,
		...('create' in cgroups ? {cgroups} : {}),
	};
	const agent = createAgentServer({
		config,
		credentials,
		pins,
		slots,
		store: homeCredentialStore(paths, change => {
			current = 'pins' in change ? {...current, pins: change.pins} : {...current, credentials: {...current.credentials, ...change.credentials}};
		}, audit.credentialsChanged),
		onUnpaired() {
			log('unpaired', {agent: config.name, reason: 'the controller unpaired this agent and its credentials are deleted; pair it again to use it'});
			stop('unpaired');
		},
		checkpoint,
		replayMemory,
		allowlist: () => allowlist,
		...runChecks,
	});
	if (config.metrics) {
		metrics = await startMetricsOf(paths, config.metrics, script => allowlist.has(script));
	}

	const relay = config.relay === undefined ? undefined : await startRelayOf(paths, {...config, relay: config.relay}, {
		current: () => current,
		runContext: () => ({agentName: config.name, agentTags: config.tags, allowlist, limits: config.limits, workingDirectory: config.workingDirectory, slots, ...runChecks}),
		log,
		recorder,
		certificates: agent.certificates,
	});
	await listenOn(agent.server, listen).catch(async (error: NodeJS.ErrnoException) => {
		await metrics?.close();
		throw new XiError('CONFIG_INVALID', `Cannot listen on ${config.listen}: ${error.code ?? error.message}.`, {cause: error});
	});

	// Before the pid file and the "listening" line: a supervisor that signals as soon as it sees
	// either must find the handlers there, not node's default (death, without agent.stopped).
	const reloadPorts: ReloadPorts = {paths, config, log, audit, checkHook, setAllowlist: next => (allowlist = next), stopping: () => stopped.stopping()};
	const {reload, idle: reloadsIdle} = serialReloads(async () => reloadAgent(reloadPorts), () => stopped.stopping(), log);

	process.on('SIGHUP', reload);
	const stopped = untilStopped(async () => {
		await Promise.all([agent.close(), metrics?.close(), relay?.close(), reloadsIdle()]);
	}, async signal => {
		await audit.append({event: 'agent.stopped', agent: config.name, signal}).catch(() => undefined);
		await audit.close().catch(() => undefined);
		rmSync(paths.pid, {force: true});
	}, log);
	stop = stopped.stop;
	early.end();
	writeFileSync(paths.pid, `${process.pid}\n`, {mode: 0o600});
	const {address, port} = listen ? agent.address() : {address: 'none', port: 'relay only'};
	log('listening', {agent: config.name, address: `${address}:${port}`, ...(config.relay ? {relay: config.relay} : {}), scripts: allowlist.size, kill: 'create' in cgroups ? cgroups.describe : `process group (no run cgroups: ${cgroups.problem}; a script that calls setsid can escape)`});
	if (metrics) {
		log('metrics.listening', {address: formatHostPort(metrics.address()), path: '/metrics'});
	}

	early.act(stop, reload);
	return stopped.done;
}

/** What was asked by a signal during start-up; `act` asks it again (a reload too: the files may have changed since start-up read them). */
type EarlySignals = {stop?: string; reload: boolean; end: () => void; act: (stop: (signal: string) => void, reload: () => void) => void};

/** Listens for SIGTERM, SIGINT (a stop) and SIGHUP (a reload) until `end()`. */
function signalsDuringStartUp(log: AgentLog): EarlySignals {
	const onStop = (signal: NodeJS.Signals) => {
		if (early.stop) {
			log('stopping.now', {signal, reason: 'asked again during start-up: stopped at once, without agent.stopped; the next start outwaits the audit lock left behind'});
			process.exit(128 + osConstants.signals[signal]);
		}

		early.stop = signal;
		log('stopping.deferred', {signal, reason: 'start-up is not finished: the agent stops once it listens; send the signal again to stop at once'});
	};

	const onReload = () => {
		early.reload = true;
	};

	const early: EarlySignals = {
		reload: false,
		end() {
			process.off('SIGTERM', onStop);
			process.off('SIGINT', onStop);
			process.off('SIGHUP', onReload);
		},
		act(stop, reload) {
			if (early.stop) {
				stop(early.stop);
			} else if (early.reload) {
				reload();
			}
		},
	};
	process.on('SIGTERM', onStop);
	process.on('SIGINT', onStop);
	process.on('SIGHUP', onReload);
	return early;
}

/** Each script in its own cgroup when the agent can (root on cgroup v2); else its process group. Scripts a previous agent process left running are killed now. */
async function runCgroupsOf(config: AgentConfig, paths: AgentPaths, log: AgentLog): Promise<RunCgroups | {problem: string}> {
	const cgroups = detectRunCgroups(runCgroupOwner(config.name, paths.home));
	if ('create' in cgroups) {
		const reaped = await cgroups.reapOrphans();
		if (reaped.length > 0) {
			log('cgroups.reaped', {cgroups: reaped, reason: 'left by an agent process that is gone; everything in them was killed'});
		}
	}

	return cgroups;
}

/** Loaded only when configured: an agent without metrics does not carry node:http in its memory. */
async function startMetricsOf(...options: Parameters<typeof import('./metrics/start-metrics.js').startAgentMetrics>): Promise<RunningMetrics> {
	const {startAgentMetrics} = await import('./metrics/start-metrics.js');
	return startAgentMetrics(...options);
}

/** Loaded only when configured: an agent without a relay does not carry the NATS client (48 modules) in its memory. */
async function startRelayOf(paths: AgentPaths, config: AgentConfig & {relay: string}, parts: Omit<RelayStart, 'home' | 'config' | 'credentials' | 'pins'> & {current: () => {credentials: AgentCredentials; pins: Pins}}) {
	const {startRelay} = await import('./relay-start.js');
	const {current, ...rest} = parts;
	return startRelay({home: paths.home, config, credentials: () => current().credentials, pins: () => current().pins, ...rest});
}

async function listenOn(server: Server, listen: HostPort | undefined): Promise<void> {
	if (!listen) {
		return;
	}

	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(listen.port, listen.host, () => {
			server.off('error', reject);
			resolve();
		});
	});
}

/**
 * Stops once only, whatever asks first (SIGTERM, SIGINT, or the controller unpairing this agent):
 * closes what serves, then records and cleans up; `done` resolves with exit status 0. Asked again
 * meanwhile: logged (`stopping.already`), nothing else; a reload asked meanwhile is refused (start).
 */
function untilStopped(close: () => Promise<void>, after: (signal: string) => Promise<void>, log: AgentLog): {stop: (signal: string) => void; done: Promise<number>; stopping: () => boolean} {
	let stopped = false;
	let stop: (signal: string) => void = () => undefined;
	const done = new Promise<number>(resolve => {
		stop = (signal: string) => {
			if (stopped) {
				log('stopping.already', {signal, reason: 'already stopping: runs are cancelled and their records awaited; SIGKILL would end it without them'});
				return;
			}

			stopped = true;
			log('stopping', {signal});
			void close().then(async () => {
				await after(signal);
				resolve(0);
			});
		};

		// On, not once: a second signal while stopping must not find node's default (death in the middle of the stop).
		process.on('SIGTERM', () => stop('SIGTERM'));
		process.on('SIGINT', () => stop('SIGINT'));
	});
	return {stop, done, stopping: () => stopped};
}
