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

export type RunRequest = {script: string; args: string[]; targets: string[]};
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
	loadAgents: () => Promise<AgentRecord[]>;
	discover: (agents: readonly AgentRecord[], onFound: (found: Discovered) => void) => Promise<void>;
	run: (request: RunRequest, onEvent: (event: RunEvent) => void) => RunHandle;
	openPairing: (onEvent: (event: PairingEvent) => void) => Promise<PairingHandle>;
	readAudit: (query: AuditQuery) => Promise<AuditView>;
	/** The run history, newest first (as `xi-exec runs`). */
	listRuns: (limit: number) => Promise<StoredRun[]>;
	/** Runs waiting for a second person's approval (the approvals screen and its badge); absent: not shown. */
	approvals?: ApprovalsFace;
};
