/**
 * Wires the relay into `xi-exec-agent start` when the agent's config names a broker: its own
 * seen-set on disk (seen-relay-requests), the results it keeps for `status` (by the audit records
 * that end runs, read back after a restart: relay-end-records.ts; the others on disk in
 * relay-results: a damaged file is said once, in a `relay.results-damaged` line, and skipped), the run slots shared with the direct-TLS server (one
 * concurrency limit per agent, whichever transport carried the run), and the same run context.
 */
import {limits} from '../source/protocol/frames.js';
import type {AgentCredentials} from './credentials.js';
import type {AgentRecorder, AgentLog, RunContext} from './execute-run.js';
import {describeAllowlist} from './loaded-allowlist.js';
import type {Pins} from './pins.js';
import {ReplayGuard} from './replay-guard.js';
import {replayMemoryFor, seenRelayRequestsFile} from './replay-memory.js';
import {startRelayAgent, type RelayAgent} from './relay-agent.js';
import {RequestGuard} from './relay-guard.js';
import {RelayResults} from './relay-results.js';
import {endRecordsInLog, type EndRecord} from './relay-end-records.js';
import {agentPaths, type AgentConfig} from './home.js';
import {relayResultsMemory} from './relay-results-file.js';
import type {CertificatePorts} from './certificate-frames.js';
import {relayCertificates} from './relay-certificates.js';

export type RelayStart = {
	home: string;
	config: AgentConfig & {relay: string};
	credentials: () => AgentCredentials;
	pins: () => Pins;
	runContext: () => Omit<RunContext, 'peer'>;
	log: AgentLog;
	recorder: AgentRecorder;
	/** The direct-TLS server's certificate steps: a renewal over the relay installs the new certificate for both. */
	certificates?: CertificatePorts;
	/** How often the presence heartbeat goes out (relay-agent.ts; 30 s by default). */
	presenceIntervalMs?: number;
};

export function startRelay(options: RelayStart): RelayAgent {
	const memory = replayMemoryFor(options.home, Date.now, undefined, seenRelayRequestsFile);
	const seen = new ReplayGuard(limits.clockSkewMs, undefined, memory.memory);
	memory.load(seen);
	const guard = new RequestGuard(seen);
	guard.restore(Date.now());
	// Kept as long as the guard remembers a request (twice its window): a request id older is refused anyway.
	const kept = relayResultsMemory(options.home, Date.now);
	const results = new RelayResults(2 * guard.windowMs, undefined, kept.memory);
	const loaded = kept.load(results);
	if (loaded.problem) {
		options.log('relay.results-damaged', {reason: loaded.problem, kept: loaded.kept});
	}

	// The results of runs that ended before this start, read from the audit log once, when a status question first needs them.
	const startedAt = Date.now();
	let ended: Map<string, EndRecord> | undefined;
	const endRecord = (id: string) => {
		ended ??= endRecordsInLog(agentPaths(options.home).auditLog, startedAt - results.keepMs, startedAt);
		return ended.get(id);
	};

	return startRelayAgent({
		url: options.config.relay,
		agentName: options.config.name,
		credentials: options.credentials,
		pins: options.pins,
		guard,
		results,
		endRecord,
		runContext: options.runContext,
		describe: () => ({tags: options.config.tags, scripts: describeAllowlist(options.runContext().allowlist)}),
		log: options.log,
		recorder: options.recorder,
		...(options.certificates ? {certificates: relayCertificates(options.certificates, {log: options.log, idleTimeoutMs: options.config.limits.idleTimeoutMs})} : {}),
		now: Date.now,
		...(options.presenceIntervalMs === undefined ? {} : {presenceIntervalMs: options.presenceIntervalMs}),
	});
}
