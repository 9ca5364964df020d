/**
 * What the console may ask of the core. Screens never open sockets or spawn processes: they call
 * these ports and receive events. `console-core.ts` builds the real one; tests pass fakes.
 */
import type {ApprovalWait} from '../approvals/wait-in-place.js';
import type {AuditRecord} from '../audit/record.js';
import type {AgentView} from '../core/agents-view.js';
import type {AgentResult, RunEvent} from '../run/events.js';
import type {Approval, PairingEvent} from '../pairing/listener.js';
import type {AgentRecord} from '../registry/model.js';
import type {StoredRun} from '../history/run-record.js';
import type {ApprovalsFace} from '../approvals/face.js';
import type {DryRunAnswer} from '../output/dry-run-view.js';
import type {RolloutInput} from '../run/plan.js';
import type {RunbookEvent} from '../runbooks/execute.js';
import type {RunbookStatus} from '../runbooks/flow.js';
import type {Parameter} from '../runbooks/model.js';
import type {PlanDocument} from '../runbooks/plan-document.js';
import type {ApprovalRequest} from '../approvals/request.js';

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
	/** Told when the run waits for two-person approval, and when it is approved (approvals/wait-in-place.ts); cancel stops waiting. */
	onApproval?: (wait: ApprovalWait) => void;
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

/** A runbook file in the controller's home, read and checked (`problems` when it is not valid). */
export type RunbookEntry = {name: string; file: string; description?: string; parameters: Parameter[]; steps: number; problems: string[]};

/** What a runbook run asks the operator on the way, and what it tells. */
export type RunbookRunHandlers = {
	onEvent: (event: RunbookEvent) => void;
	/** A `confirm` script's step: the operator types `answer` (the number of its hosts). */
	confirm: (question: string, answer: string) => Promise<boolean>;
	/** A step's canary hosts are ok: go on with the rest of the step? */
	approveCanary: (step: string, canaryHosts: number) => Promise<boolean>;
	/** A step waits for a second operator's approval. */
	onWaiting: (step: string, request: ApprovalRequest) => void;
};

/** `started`: the run's id once the runbook was checked and recorded (rejects with the refusal otherwise). */
export type RunbookHandle = {started: Promise<{id: string}>; cancel: () => void; done: Promise<{id: string; status: RunbookStatus; reason?: string}>};

/** A runbook run in the history (`xi-exec runbooks`), newest first; `status` as its record says (`interrupted`: its controller stopped). */
export type RunbookRunEntry = {id: string; runbook: string; status: RunbookStatus | 'running' | 'interrupted'; startedAt: string; caller: string; stepsOk: number; steps: number; reason?: string; resumeOf?: string};

/** `resume`: continue that runbook run, as `runbook run --resume ID` does (its parameters kept; secret ones given again in `params`). */
export type RunbookStart = {resume?: string};

/** The runbook use case (source/runbooks/), as the console's runbook screen asks it. */
export type RunbooksPort = {
	list: () => Promise<RunbookEntry[]>;
	/** The runbook runs in the history, newest first (`xi-exec runbooks`). */
	runs: () => Promise<RunbookRunEntry[]>;
	/** `runbook show`: checked whole against the fleet, each step's hosts asked for their policy answer; nothing runs. */
	plan: (name: string, params: Readonly<Record<string, unknown>>, start?: RunbookStart) => Promise<PlanDocument>;
	run: (name: string, params: Readonly<Record<string, unknown>>, handlers: RunbookRunHandlers, start?: RunbookStart) => RunbookHandle;
};

export type ConsoleCore = {
	/** Ends what the core holds open for the console's life (the relay's broker connection). */
	close?: () => Promise<void>;
	loadAgents: () => Promise<AgentRecord[]>;
	/**
	 * Asks each agent what it runs now; tells each as it answers (or fails to) as the core's agents
	 * view (core/agents-view.ts), the document `agents --json`, GET /v1/agents and MCP give.
	 */
	discover: (agents: readonly AgentRecord[], onView: (view: AgentView) => void) => Promise<void>;
	run: (request: RunRequest, onEvent: (event: RunEvent) => void) => RunHandle;
	/** The same request as a dry run; rejects with the core's refusal (an XiError) when it would be refused. */
	dryRun: (request: RunRequest) => Promise<DryRunView>;
	openPairing: (onEvent: (event: PairingEvent) => void) => Promise<PairingHandle>;
	readAudit: (query: AuditQuery) => Promise<AuditView>;
	/** The run history, newest first (as `xi-exec runs`). */
	listRuns: (limit: number) => Promise<StoredRun[]>;
	/** Runs waiting for a second person's approval (the approvals screen and its badge); absent: not shown. */
	approvals?: ApprovalsFace;
	/** Runbooks: list, dry run and run (the runbook screen, b); absent: not shown. */
	runbooks?: RunbooksPort;
};
