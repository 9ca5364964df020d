/**
 * `xi-exec-agent start`: the foreground daemon. Checks its own files (the CA must match the pinned
 * hash), loads the allowlist, listens, reloads on SIGHUP, and on SIGTERM/SIGINT cancels running
 * scripts and exits. Logs one JSON line per event on stdout.
 */
import {closeSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {XiError} from '../source/errors.js';
import {formatHostPort, parseHostPort} from '../source/io/address.js';
import {readTextFile} from '../source/io/files.js';
import {certificateFacts} from '../source/pki/certificate-facts.js';
import type {AgentLog} from './execute-run.js';
import {deleteCredentials, installCredentials, readCredentials} from './credentials.js';
import {checkHomeModes, currentHomeProblem} from './home-modes.js';
import {acceptPolicy, acceptPolicyAtStart, policyPaths} from './policy-snapshot.js';
import {readAgentConfig, readAllowlistFile, readPins, writePins, type AgentConfig, type AgentPaths} from './home.js';
import {sameTags} from '../source/policy/tags.js';
import {loadAllowlist, schemaCompilerFor, type LoadedAllowlist} from './loaded-allowlist.js';
import {ownersFor, runAsIds} from './owners.js';
import {detectRunCgroups, runCgroupOwner} from './run-cgroup.js';
import {createAgentServer} from './server.js';
import {hookConfig, openAgentAudit, recorderFor} from './agent-audit.js';
import {loadHookFile} from './auth-hook.js';
import type {Owners} from './allowlist.js';
import {replayMemoryFor} from './replay-memory.js';
import {formatLogLine} from './log-line.js';
import {standardOutput} from '../source/io/standard-output.js';
import type {RunningMetrics} from './metrics/start-metrics.js';
import {RunSlots} from './run-slots.js';

/** The daemon's log on stdout: safe JSON lines, and a reader going away never stops the agent. */
export const stdoutLog: AgentLog = (event, fields) => {
	standardOutput().stdout.write(formatLogLine(event, fields, new Date()));
};

export async function startAgent(paths: AgentPaths, printLog: AgentLog = stdoutLog): Promise<number> {
	// With "metrics" in config.json, every event logged is also counted (agent/metrics/).
	let metrics: RunningMetrics | undefined;
	const log: AgentLog = (event, fields) => {
		metrics?.observe(event, fields);
		printLog(event, fields);
	};

	const inherited = closeInheritedDescriptors();
	if (inherited.length > 0) {
		log('descriptors.closed', {descriptors: inherited, reason: 'inherited without close-on-exec; scripts would get them'});
	}

	// Strict modes first: nothing is read from a home others could have changed.
	checkHomeModes(paths);
	const config = readAgentConfig(paths);
	const pins = readPins(paths);
	const credentials = readCredentials(paths);
	const own = readFacts(credentials.cert, paths.cert);
	if (own.notAfter.getTime() <= Date.now()) {
		throw new XiError('CERTIFICATE_EXPIRED', `This agent's certificate expired at ${own.notAfter.toISOString()} (it was not renewed while the agent was away); pair it again: \`xi-exec-agent pair --controller HOST:PORT\` while \`xi-exec pair\` runs on the controller.`);
	}

	if (readFacts(credentials.ca, paths.ca).publicKeySha256 !== pins.caSha256) {
		throw new XiError('CONFIG_INVALID', `${paths.ca} is not the CA this agent pinned at pairing; restore it or pair again.`);
	}

	// "listen": "none" with a relay: reached only through the broker, no inbound port at all (a device behind NAT).
	const relayOnly = config.listen === 'none';
	if (relayOnly && config.relay === undefined) {
		throw new XiError('CONFIG_INVALID', `"listen" in ${paths.config} is "none", but no "relay" is set: the controller could not reach this agent at all; set "relay" to the broker's nats://HOST:PORT or "listen" to HOST:PORT.`);
	}

	const listen = relayOnly ? undefined : parseHostPort(config.listen);
	if (typeof listen === 'string') {
		throw new XiError('CONFIG_INVALID', `"listen" in ${paths.config}: ${listen}.`);
	}

	let allowlist: LoadedAllowlist = await load();
	async function load(): Promise<LoadedAllowlist> {
		const file = readAllowlistFile(paths);
		const loaded = loadAllowlist(file, entry => ownersFor(entry.runAs), await schemaCompilerFor(file));
		for (const entry of loaded.values()) {
			if (entry.problem) {
				log('allowlist.unusable', {script: entry.name, reason: entry.problem});
			}
		}

		return loaded;
	}

	// policy.json is checked whole before anything else uses it; the hook reads the accepted copy.
	acceptPolicyAtStart(paths);
	const hook = hookConfig(config, paths);
	if (hook?.command) {
		hook.env = {...hook.env, XI_EXEC_POLICY: policyPaths(paths).active};
	}

	// The hook runs as the agent: its files must pass the allowlist's checks, now and at every call.
	function checkHook(): void {
		if (hook?.command) {
			hook.file = loadHookFile(hook.command, ownersFor(undefined) as Owners, config.hookInterpreter);
			if ('problem' in hook.file) {
				log('hook.unusable', {hook: hook.command, reason: `${hook.file.problem}; every run is denied until it is fixed and the agent reloaded (SIGHUP)`});
			}
		}
	}

	checkHook();
	// At start an unusable hook is a configuration error, said once, rather than a denial of every run later.
	if (hook?.file && 'problem' in hook.file) {
		throw new XiError('HOOK_UNUSABLE', `Refusing to start: the auth hook ${hook.command} cannot be used: ${hook.file.problem}. Fix it (or remove "hook" from ${paths.config}), then start the agent again.`);
	}

	const audit = openAgentAudit(paths, config, log);
	await audit.hold();
	await audit.append({event: 'agent.started', agent: config.name, controllerSerials: pins.controllerSerials, caSha256: pins.caSha256});
	// A signed head from the start, so the first result already carries a witness of this log.
	await audit.checkpoint();
	let stop: (reason: string) => void = () => undefined;
	// Each script in its own cgroup when the agent can (root on cgroup v2); else its process group.
	const cgroups = detectRunCgroups(runCgroupOwner(config.name, paths.home));
	if ('create' in cgroups) {
		// Scripts of a previous agent process that died without killing them: killed now.
		const reaped = await cgroups.reapOrphans();
		if (reaped.length > 0) {
			log('cgroups.reaped', {cgroups: reaped, reason: 'left by an agent process that is gone; everything in them was killed'});
		}
	}

	// What the relay signs with and checks against: kept current through renewals and pin changes.
	let current = {credentials, pins};
	const slots = new RunSlots(config.limits.maxConcurrentRuns, config.limits.maxQueuedRuns);
	const recorder = recorderFor(audit, config.name);
	// What every run is checked and recorded with, over direct TLS and over the relay alike: one list,
	// so a check added for one transport cannot be missing from the other.
	const runChecks = {
		ownersFor,
		runAsIds,
		log,
		recorder,
		...(hook ? {hook} : {}),
		homeProblem: () => currentHomeProblem(paths),
		now: Date.now,
		...('create' in cgroups ? {cgroups} : {}),
	};
	const agent = createAgentServer({
		config,
		credentials,
		pins,
		slots,
		store: {
			install(next) {
				const replaced = readTextFile(paths.cert, 'the agent certificate');
				installCredentials(paths, {serial: readFacts(replaced, paths.cert).serial, cert: replaced}, next);
				current = {...current, credentials: {...current.credentials, ...next}};
			},
			forget: () => deleteCredentials(paths),
			savePins(next) {
				writePins(paths, next);
				current = {...current, pins: next};
			},
		},
		onUnpaired() {
			log('unpaired', {agent: config.name, reason: 'the controller unpaired this agent and its credentials are deleted; pair it again to use it'});
			stop('unpaired');
		},
		checkpoint: async () => audit.checkpoint(),
		replayMemory: replayMemoryFor(paths.home, Date.now),
		allowlist: () => allowlist,
		...runChecks,
	});
	if (config.metrics) {
		// Loaded only when configured: an agent without metrics does not carry node:http in its memory.
		const {startAgentMetrics} = await import('./metrics/start-metrics.js');
		metrics = await startAgentMetrics(paths, config.metrics, script => allowlist.has(script));
	}

	// Loaded only when configured: an agent without a relay does not carry the NATS client (48 modules) in its memory.
	const relay = config.relay === undefined ? undefined : (await import('./relay-start.js')).startRelay({
		home: paths.home,
		config: {...config, relay: config.relay},
		credentials: () => current.credentials,
		pins: () => current.pins,
		runContext: () => ({
			agentName: config.name,
			agentTags: config.tags,
			allowlist,
			limits: config.limits,
			workingDirectory: config.workingDirectory,
			slots,
			...runChecks,
		}),
		log,
		recorder,
		certificates: agent.certificates,
	});
	await new Promise<void>((resolve, reject) => {
		if (!listen) {
			resolve();
			return;
		}

		agent.server.once('error', reject);
		agent.server.listen(listen.port, listen.host, () => {
			agent.server.off('error', reject);
			resolve();
		});
	}).catch(async (error: NodeJS.ErrnoException) => {
		await metrics?.close();
		throw new XiError('CONFIG_INVALID', `Cannot listen on ${config.listen}: ${error.code ?? error.message}.`, {cause: error});
	});

	writeFileSync(paths.pid, `${process.pid}\n`, {mode: 0o600});
	const {address, port} = listen ? agent.address() : {address: 'none', port: 'relay only'};
	log('listening', {agent: config.name, address: `${address}:${port}`, ...(config.relay ? {relay: config.relay} : {}), scripts: allowlist.size, kill: 'create' in cgroups ? cgroups.describe : `process group (no run cgroups: ${cgroups.problem}; a script that calls setsid can escape)`});
	if (metrics) {
		log('metrics.listening', {address: formatHostPort(metrics.address()), path: '/metrics'});
	}

	process.on('SIGHUP', () => {
		void reload();
	});

	async function reload(): Promise<void> {
		// Nothing is read again from a home others could have changed; runs are refused meanwhile (homeProblem).
		const unsafe = currentHomeProblem(paths);
		if (unsafe !== undefined) {
			log('reload.refused', {reason: `${unsafe}; nothing was reloaded and every run is refused until it is fixed`});
			return;
		}

		let reloaded = false;
		try {
			allowlist = await load();
			reloaded = true;
		} catch (error) {
			log('allowlist.reload-failed', {reason: (error as Error).message});
		}

		const policy = acceptPolicy(paths);
		if (policy.state === 'refused') {
			log('policy.reload-failed', {reason: `${policy.reason}; the previous policy stays in force`});
		} else {
			log('policy.reloaded', {policy: policy.state});
		}

		checkHook();

		reloadOwnTags();
		// Logged last: whoever waits for it finds the hook, the policy and the tags of this reload in force too.
		if (reloaded) {
			log('allowlist.reloaded', {scripts: allowlist.size});
		}
	}

	/** `xi-exec-agent tag set|unset` changed the tags this agent reports about itself: take them, and record it. */
	function reloadOwnTags(): void {
		let tags: AgentConfig['tags'];
		try {
			({tags} = readAgentConfig(paths));
		} catch (error) {
			log('tags.reload-failed', {reason: (error as Error).message});
			return;
		}

		if (sameTags(tags, config.tags)) {
			return;
		}

		const before = config.tags;
		// The server reads config.tags for every description and hook context.
		config.tags = tags;
		log('tags.reloaded', {tags});
		void audit.append({event: 'agent.tags', agent: config.name, before, after: tags}).catch((error: unknown) => {
			log('audit.failed', {record: 'agent.tags', reason: (error as Error).message});
		});
	}

	return new Promise<number>(resolve => {
		let stopped = false;
		// Once only, whatever asks first: a signal, or the controller unpairing this agent.
		stop = (signal: string) => {
			if (stopped) {
				return;
			}

			stopped = true;
			log('stopping', {signal});
			void Promise.all([agent.close(), metrics?.close(), relay?.close()]).then(async () => {
				await audit.append({event: 'agent.stopped', agent: config.name, signal}).catch(() => undefined);
				await audit.close().catch(() => undefined);
				rmSync(paths.pid, {force: true});
				resolve(0);
			});
		};

		process.once('SIGTERM', () => stop('SIGTERM'));
		process.once('SIGINT', () => stop('SIGINT'));
	});
}

function readFacts(pem: string, path: string) {
	const facts = certificateFacts(Buffer.from(pem));
	if (!facts) {
		throw new XiError('CONFIG_INVALID', `${path} is not a certificate; restore it or pair again.`);
	}

	return facts;
}

const closeOnExec = 0o2000000;

/**
 * Scripts must inherit no descriptor but their three pipes. Node opens everything with
 * close-on-exec, but a descriptor the agent itself inherited from whatever started it (a
 * supervisor's pipe, say) has no such flag and would pass on to every script: close those.
 * Linux only (/proc); node's IPC channel, if any, is kept.
 */
export function closeInheritedDescriptors(): number[] {
	const keep = new Set([0, 1, 2, Number(process.env['NODE_CHANNEL_FD'] ?? -1)]);
	let entries: string[];
	try {
		entries = readdirSync('/proc/self/fd');
	} catch {
		return [];
	}

	const closed: number[] = [];
	for (const entry of entries) {
		const fd = Number(entry);
		let flags: number;
		try {
			flags = Number.parseInt(/^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1] ?? '', 8);
		} catch {
			continue; // Gone already (the directory listing's own descriptor).
		}

		if (!keep.has(fd) && Number.isInteger(flags) && (flags & closeOnExec) === 0) {
			try {
				closeSync(fd);
				closed.push(fd);
			} catch {
				// Not ours to close after all.
			}
		}
	}

	return closed;
}
