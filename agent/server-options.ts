/** What the agent's TLS server is given (server.ts builds it; start.ts and the bench give it). */
import type {Server} from 'node:tls';
import type {AddressInfo} from 'node:net';
import type {HookConfig} from './auth-hook.js';
import type {CertificatePorts} from './certificate-frames.js';
import type {AgentCredentials} from './credentials.js';
import type {AgentLog, AgentRecorder, RunContext} from './execute-run.js';
import type {AgentConfig} from './home.js';
import type {LoadedAllowlist} from './loaded-allowlist.js';
import type {Pins} from './pins.js';
import type {ReplayGuard, ReplayMemory} from './replay-guard.js';
import type {RunCgroups} from './run-cgroup.js';
import type {RunSlots} from './run-slots.js';

/** Where renewed credentials and changed pins are kept (the agent home); in memory when absent. */
export type CredentialStore = {
	install: (next: {key: string; cert: string}) => void;
	forget: () => void;
	savePins: (pins: Pins) => void;
};

export type AgentServerOptions = {
	config: AgentConfig;
	credentials: AgentCredentials;
	pins: Pins;
	store?: CredentialStore;
	/** Called after the controller unpaired this agent and was answered. */
	onUnpaired?: () => void;
	allowlist: () => LoadedAllowlist;
	ownersFor: RunContext['ownersFor'];
	runAsIds: RunContext['runAsIds'];
	log: AgentLog;
	recorder?: AgentRecorder;
	/** Where accepted message ids are kept across restarts (replay-memory.ts); in memory only without it. */
	replayMemory?: {memory: ReplayMemory; load: (guard: ReplayGuard) => void};
	/** Writes a signed checkpoint (after a renewal, a pin change, an unpairing). */
	checkpoint?: () => Promise<void>;
	hook?: HookConfig;
	/** The strict-modes problem of the home now, checked before every run (home-modes.ts). */
	homeProblem?: () => string | undefined;
	now: () => number;
	cgroups?: RunCgroups;
	/** The run slots, when shared with another transport (the relay): one concurrency limit per agent. */
	slots?: RunSlots;
	/** Asks whether a script is open for writing just before its start (RunContext); the kernel's probe without it. */
	writerProbe?: RunContext['writerProbe'];
};

export type AgentServer = {
	server: Server;
	address: () => AddressInfo;
	/** Renew, pin and unpair as this server does them, for the relay to answer the same way. */
	certificates: CertificatePorts;
	/** Stops accepting, cancels running scripts, waits for them to end. */
	close: () => Promise<void>;
};
