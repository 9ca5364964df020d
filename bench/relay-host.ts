/**
 * A worker process hosting many real relay agents: for each agent home listed in its input, the
 * agent's own relay side (`startRelayAgent`, as `xi-exec-agent start` wires it for a config with a
 * broker) with that agent's own key and certificate, its own TLS connection to the broker (its
 * broker user, mapped from its certificate), its own subscription, its allowlist and run slots.
 * Every request is checked as a real agent checks it (the controller's signature and certificate
 * chain to the pinned CA, pinned serial, role, target, time window, replay guard, sequence) and run
 * through executeRun (boundary checks, spawn of the script); every reply is signed and chained.
 * What differs from `xi-exec-agent start`, exactly as in agent-host.ts for direct TLS: no audit
 * log (no recorder), and the replay guard's memory is not written to disk (no fdatasync per
 * request; measure-durability.ts measures what fsync costs). Reports readiness once every agent's
 * subscription is held by the broker; exits on SIGTERM, SIGINT or when the bench goes away.
 *
 *   node --import=tsx bench/relay-host.ts INPUT.json     INPUT.json: {url, homes}
 */
import {readFileSync} from 'node:fs';
import {mapLimited} from '../source/dispatch/pool.js';
import {limits} from '../source/protocol/frames.js';
import {describeAllowlist} from '../agent/loaded-allowlist.js';
import {ownersFor, runAsIds} from '../agent/owners.js';
import {startRelayAgent, type RelayAgent} from '../agent/relay-agent.js';
import {RequestGuard} from '../agent/relay-guard.js';
import {ReplayGuard} from '../agent/replay-guard.js';
import {RunSlots} from '../agent/run-slots.js';
import {noRecorder} from '../agent/execute-run.js';
import {stdoutLog} from '../agent/start.js';
import {readAgentHome} from './agent-home.js';
import {announce, exitWhenAsked} from './host-protocol.js';
import {startRunProfile} from './run-profile.js';

export type RelayHostInput = {url: string; homes: string[]};

const input = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as RelayHostInput;
const agents: RelayAgent[] = [];

async function startOne(home: string): Promise<void> {
	const {config, pins, credentials, allowlist} = await readAgentHome(home);
	const slots = new RunSlots(config.limits.maxConcurrentRuns, config.limits.maxQueuedRuns);
	const agent = startRelayAgent({
		url: input.url,
		agentName: config.name,
		credentials: () => credentials,
		pins: () => pins,
		guard: new RequestGuard(new ReplayGuard(limits.clockSkewMs)),
		runContext: () => ({agentName: config.name, agentTags: config.tags, allowlist, limits: config.limits, workingDirectory: config.workingDirectory, slots, ownersFor, runAsIds, log: stdoutLog, now: Date.now}),
		describe: () => ({tags: config.tags, scripts: describeAllowlist(allowlist)}),
		log: stdoutLog,
		recorder: noRecorder,
		now: Date.now,
	});
	agents.push(agent);
	await agent.connected;
}

let stopProfile: (() => Promise<void>) | undefined;
exitWhenAsked(async () => {
	await stopProfile?.().catch(() => undefined);
	await Promise.allSettled(agents.map(agent => agent.close()));
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
