/** What a run reports as it goes: the dispatcher emits these; the CLI, console and API consume them. */
import type {RunStatus, SignedHead} from '../protocol/frames.js';
import type {SeenVia} from '../registry/model.js';

export type AgentResult = {
	agent: string;
	status: RunStatus;
	exitCode: number | null;
	signal: string | null;
	stdout: string;
	stderr: string;
	truncated: boolean;
	durationMs: number;
	reason?: string;
	/** The agent audit log's signed head as of this result: the controller's witness of that log. */
	agentHead?: SignedHead;
	/** The link that carried the run (an agent of transport `both` may be reached over either). */
	via?: SeenVia;
	/** What happened on the way that the result should mention (agent-notes.ts): relay gaps recovered, duplicates dropped, a fallback. */
	notes?: string[];
	/** The agent refused a run planned from a cached description of its entry, which changed since: nothing ran (core/plan-refresh.ts plans the host again). */
	entryChanged?: true;
	/** Only from the REST API, when a result was sent without its output (stdout and stderr then empty): how much, why, and where all of it is. */
	outputOmitted?: OutputOmitted;
};

export type OutputOmitted = {stdoutBytes: number; stderrBytes: number; reason: string; result: string};

export type RunEvent =
	/** `startedAt`: when the run's request went out (ISO 8601), set by the run use case. */
	| {type: 'run-started'; requestId: string; script: string; args: readonly string[]; targets: string[]; startedAt?: string}
	| {type: 'agent-connecting'; agent: string}
	| {type: 'agent-started'; agent: string}
	| {type: 'agent-output'; agent: string; stream: 'stdout' | 'stderr'; data: string}
	| {type: 'agent-finished'; result: AgentResult}
	/** `endedAt`, `durationMs`: when the last host ended, and the whole run's time since `startedAt`. */
	| {type: 'run-finished'; requestId: string; endedAt?: string; durationMs?: number};
