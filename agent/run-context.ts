/** What the agent runs a request with (the same over direct TLS and the relay), and how it logs and records. Types and the recorder that records nothing. */
import type {SignedHead} from '../source/protocol/frames.js';
import type {Owners} from './allowlist.js';
import type {HookConfig} from './auth-hook.js';
import type {AgentLimits} from './home.js';
import type {LoadedAllowlist} from './loaded-allowlist.js';
import type {RunCgroups} from './run-cgroup.js';
import type {RunSlots} from './run-slots.js';
import type {WriterProbe} from './writer-check.js';

export type AgentLog = (event: string, fields: Record<string, unknown>) => void;

/** The agent's audit trail: resolves once the record is on disk, rejects when it cannot be written. */
export type AgentRecorder = {
	record: (event: string, fields: Record<string, unknown>) => Promise<void>;
	signedHead: () => SignedHead | undefined;
};

export const noRecorder: AgentRecorder = {record: async () => undefined, signedHead: () => undefined};

export type RunContext = {
	agentName: string;
	agentTags?: Record<string, string>;
	allowlist: LoadedAllowlist;
	ownersFor: (runAs: string | undefined) => Owners | string;
	runAsIds: (runAs: string | undefined) => {uid?: number; gid?: number};
	limits: AgentLimits;
	workingDirectory: string;
	slots: RunSlots;
	log: AgentLog;
	recorder?: AgentRecorder;
	hook?: HookConfig;
	/** The home's strict-modes problem now (a file others can write): every run is refused while there is one. */
	homeProblem?: () => string | undefined;
	now: () => number;
	peer: {address: string; serial: string};
	/** Each script in its own cgroup, when the agent can (root on cgroup v2). */
	cgroups?: RunCgroups;
	/** Asks whether a process holds a script open for writing, just before the start; the kernel's probe (writer-check.ts) without it. */
	writerProbe?: WriterProbe;
};
