/**
 * What `xi-exec-agent start` records and checks every run with, opened once at start: the audit
 * log (held for the life of the process, opened with `agent.started` and a signed head), the
 * recorder that writes every run's records to it (a checkpoint sealing each run's end), the replay
 * guard's memory on disk (a run's message id in its receipt, fsynced with it; any other request's
 * fdatasync'd to seen-requests), and the home's strict-modes check before every run. The bench's
 * agents (bench/agent-host.ts) are given the same, so that a bench charges what a real agent pays.
 */
import type {DurableFs} from '../source/io/durable-fs.js';
import {openAgentAudit, recorderFor, type AgentAuditLog} from './agent-audit.js';
import type {AgentLog, AgentRecorder} from './execute-run.js';
import {currentHomeProblem} from './home-modes.js';
import type {AgentConfig, AgentPaths} from './home.js';
import type {Pins} from './pins.js';
import {replayMemoryFor} from './replay-memory.js';
import type {AgentServerOptions} from './server-options.js';

export type StartRecords = {
	/** `audit.credentialsChanged()` after the key and certificate files were replaced or deleted: the next checkpoint reads them again. */
	audit: AgentAuditLog;
	recorder: AgentRecorder;
	homeProblem: () => string | undefined;
	checkpoint: () => Promise<void>;
	replayMemory: NonNullable<AgentServerOptions['replayMemory']>;
};

/** `fs`: the audit log's writes and fsyncs go through this port (test/fixtures/crash-agent.ts). */
export async function openStartRecords(paths: AgentPaths, config: AgentConfig, pins: Pins, log: AgentLog, fs?: DurableFs): Promise<StartRecords> {
	const audit = await openStartedAudit(paths, config, pins, log, fs);
	return {
		audit,
		recorder: recorderFor(audit, config.name),
		homeProblem: () => currentHomeProblem(paths),
		checkpoint: async () => audit.checkpoint(),
		replayMemory: replayMemoryFor(paths.home, Date.now, undefined, undefined, paths.auditLog),
	};
}

/** The agent's audit log, held by this process, opened with `agent.started` and a signed head (so the first result already carries a witness of this log). */
async function openStartedAudit(paths: AgentPaths, config: AgentConfig, pins: Pins, log: AgentLog, fs?: DurableFs): Promise<AgentAuditLog> {
	const audit = openAgentAudit(paths, config, log, fs);
	await audit.hold();
	await audit.append({event: 'agent.started', agent: config.name, controllerSerials: pins.controllerSerials, caSha256: pins.caSha256});
	await audit.checkpoint();
	return audit;
}
