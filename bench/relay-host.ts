/**
 * A worker process hosting many real relay agents: for each agent home listed in its input, what
 * `xi-exec-agent start` runs for a config with a broker and no listener: the agent's own relay side
 * (`startRelay`: its seen-set of relay requests on disk with an fdatasync per request, the results
 * it keeps for `status` on disk, fsynced), its own TLS connection to the broker as its own broker
 * user (mapped from its certificate), its allowlist and run slots, and the same records a real
 * agent keeps (agent/start-records.ts, as agent-host.ts gives direct agents): its own audit log,
 * held, every run's records batched and fsynced with a signed checkpoint per run, and the home's
 * modes checked before every run. Every request is checked as a real agent checks it (the
 * controller's signature and certificate chain to the pinned CA, pinned serial, role, target, time
 * window, replay guard, sequence) and run through executeRun; every reply is chained and the
 * deciding ones signed. So the relay rows charge the relay agents what a real one pays.
 *
 * A relay agent has a home of its own (`HOME-relay`, beside the direct agent's: the same name,
 * key, certificate, pins, config and allowlist), since the bench's direct agents hold their audit
 * logs in the same run; a real agent of transport `both` keeps one log for both links. What
 * differs from `xi-exec-agent start`: many agents share one process, no metrics, no hook, no SIGHUP
 * reload, no renewal over the relay, no run cgroups. Reports readiness once every agent's
 * subscription is held by the broker; exits on SIGTERM, SIGINT or when the bench goes away
 * (closing each audit log with its last checkpoint).
 *
 *   node --import=tsx bench/relay-host.ts INPUT.json     INPUT.json: {url, homes}
 */
import {copyFileSync, mkdirSync, readFileSync} from 'node:fs';
import {mapLimited} from '../source/dispatch/pool.js';
import {agentPaths} from '../agent/home.js';
import {ownersFor, runAsIds} from '../agent/owners.js';
import type {RelayAgent} from '../agent/relay-agent.js';
import {startRelay} from '../agent/relay-start.js';
import {RunSlots} from '../agent/run-slots.js';
import {stdoutLog} from '../agent/start.js';
import {openStartRecords} from '../agent/start-records.js';
import type {AuditLog} from '../source/audit/file-log.js';
import {readAgentHome} from './agent-home.js';
import {announce, exitWhenAsked} from './host-protocol.js';
import {startRunProfile} from './run-profile.js';

export type RelayHostInput = {url: string; homes: string[]};

const input = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as RelayHostInput;
const agents: RelayAgent[] = [];
const audits: AuditLog[] = [];

/** The relay agent's own home beside `home`: what `xi-exec-agent init` wrote there, none of what the direct agent keeps as it runs. */
function relayHomeOf(home: string): string {
	const from = agentPaths(home);
	const relayHome = `${home}-relay`;
	const to = agentPaths(relayHome);
	mkdirSync(relayHome, {recursive: true, mode: 0o700});
	for (const file of ['config', 'allowlist', 'key', 'cert', 'ca', 'pins'] as const) {
		copyFileSync(from[file], to[file]);
	}

	return relayHome;
}

async function startOne(home: string): Promise<void> {
	const {paths, config, pins, credentials, allowlist} = await readAgentHome(relayHomeOf(home));
	const {audit, recorder, homeProblem} = await openStartRecords(paths, config, pins, stdoutLog);
	audits.push(audit);
	const slots = new RunSlots(config.limits.maxConcurrentRuns, config.limits.maxQueuedRuns);
	const agent = startRelay({
		home: paths.home,
		config: {...config, relay: input.url},
		credentials: () => credentials,
		pins: () => pins,
		runContext: () => ({agentName: config.name, agentTags: config.tags, allowlist, limits: config.limits, workingDirectory: config.workingDirectory, slots, ownersFor, runAsIds, log: stdoutLog, recorder, homeProblem, now: Date.now}),
		log: stdoutLog,
		recorder,
		// BENCH_PRESENCE_MS: another heartbeat interval (what the heartbeats cost, measured apart).
		...(process.env['BENCH_PRESENCE_MS'] ? {presenceIntervalMs: Number(process.env['BENCH_PRESENCE_MS'])} : {}),
	});
	agents.push(agent);
	await agent.connected;
}

let stopProfile: (() => Promise<void>) | undefined;
exitWhenAsked(async () => {
	await stopProfile?.().catch(() => undefined);
	await Promise.allSettled(agents.map(agent => agent.close()));
	await Promise.allSettled(audits.map(async audit => audit.close()));
});

try {
	// A few dozen TLS handshakes with the broker at once: thousands at once only queue in the broker.
	await mapLimited(input.homes, 32, startOne);
	stopProfile = await startRunProfile(`relay-host-${process.pid}.cpuprofile`);
	announce({ready: agents.length});
} catch (error) {
	announce({failed: (error as Error).message});
	process.exit(1);
}
