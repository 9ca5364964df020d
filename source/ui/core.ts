/**
 * What the console may ask of the core. Screens never open sockets or spawn processes: they call
 * these ports and receive events. `console-core.ts` builds the real one; tests pass fakes.
 */
import type {AuditRecord} from '../audit/record.js';
import type {Discovered} from '../dispatch/discover.js';
import type {AgentResult, RunEvent} from '../run/events.js';
import type {Approval, PairingEvent} from '../pairing/listener.js';
import type {AgentRecord} from '../registry/model.js';
import type {StoredRun} from '../history/run-record.js';
import type {ApprovalsFace} from '../approvals/face.js';
import type {DryRunAnswer} from '../output/dry-run-view.js';
import type {RolloutInput} from '../run/plan.js';

export type RunRequest = {
	script: string;
	args: string[];
	targets: string[];
	/** --batch, --max-failures, --canary, as the CLI's flags (ui/screens/run/run-controls.ts). */
	rollout?: RolloutInput;
	/** Seconds each host may run (the CLI's --timeout); the console's default without it. */
	timeoutSeconds?: number;
	/** Asked once the canary hosts are all ok: go on with the others? Without it a canary run stops after them. */
	approveCanary?: (canary: AgentResult[]) => Promise<boolean>;
};

/**
 * A dry run (`run --dry-run`): the plan the core made (its hosts in the order they would start,
 * its rollout and hash) and each host's answer to "would you run this?"; nothing ran.
 */
export type DryRunView = {
	requestId: string;
	planHash: string;
	/** The plan's hosts, in the order they would start. */
	targets: string[];
	parallel: number;
	timeoutSeconds: number;
	answers: DryRunAnswer[];
	/** What the operator should hear about the selection. */
	notes: readonly string[];
};
export type RunHandle = {requestId: string; cancel: () => void; done: Promise<AgentResult[]>};

export type PairingHandle = {
	address: string;
	approve: (agent: string, code: string) => Promise<Approval>;
	reject: (agent: string) => boolean;
	close: () => Promise<void>;
};

/** The controller's audit log as the audit screen shows it: recent records and the verifier's status line. */
export type AuditView = {
	records: AuditRecord[];
	/** How many records match, of which `records` are the most recent. */
	matching: number;
	/** `ok: N records, chain intact, last checkpoint at N` or the first broken record. */
	chain: {ok: boolean; text: string; warnings: string[]};
};

export type AuditQuery = {requestId?: string; limit: number};

export type ConsoleCore = {
	/** Ends what the core holds open for the console's life (the relay's broker connection). */
	close?: () => Promise<void>;
	loadAgents: () => Promise<AgentRecord[]>;
	discover: (agents: readonly AgentRecord[], onFound: (found: Discovered) => void) => Promise<void>;
	run: (request: RunRequest, onEvent: (event: RunEvent) => void) => RunHandle;
	/** The same request as a dry run; rejects with the core's refusal (an XiError) when it would be refused. */
	dryRun: (request: RunRequest) => Promise<DryRunView>;
	openPairing: (onEvent: (event: PairingEvent) => void) => Promise<PairingHandle>;
	readAudit: (query: AuditQuery) => Promise<AuditView>;
	/** The run history, newest first (as `xi-exec runs`). */
	listRuns: (limit: number) => Promise<StoredRun[]>;
	/** Runs waiting for a second person's approval (the approvals screen and its badge); absent: not shown. */
	approvals?: ApprovalsFace;
};
