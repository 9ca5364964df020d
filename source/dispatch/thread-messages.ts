/**
 * What the controller's main thread and its dispatch threads (thread-pool.ts, thread-worker.ts)
 * say to each other, and the advice both give when a thread fails. Both sides import them, neither
 * imports the other.
 *
 * A thread is started with the controller's credentials (its own TLS context is made from them).
 * Before the run, the main thread may send it describes (what each target runs), each answered
 * with what the agent said; a connection the agent leaves open for the run stays in the thread.
 * The main thread sends it the run once (the request as recorded, the refused serials, the time
 * limits), then hosts to run and cancels, batched; the thread answers with each host's events
 * and its result, batched, in the order they happened. The main thread keeps everything else:
 * the rollout, the timeouts, the events' consumers (history, audit, faces).
 */
import type {TlsCredentials} from '../pki/credentials.js';
import type {AgentResult, RunEvent} from '../run/events.js';
import type {AgentTarget} from './agent-connection.js';
import type {Discovered} from './discover.js';
import type {AgentRunRequest} from './run-agent.js';

/**
 * The next step, in every error a dispatch thread's stop or failure puts on a host: the main
 * thread alone is the way around a thread that keeps failing.
 */
export const threadFailedNextStep = 'if dispatch threads fail again, set "dispatchThreads": 1 in the controller\'s config.json to use the main thread alone';

/** What a host's run that a dispatch thread lost needs next: the agent's audit log knows whether the script ran. */
export const lostRunNextStep = `what the agent did is unknown: its audit log says whether the script ran; run it again where it did not; ${threadFailedNextStep}`;

/** What a describe that a dispatch thread lost needs next. */
export const lostDescribeNextStep = `nothing ran; try again; ${threadFailedNextStep}`;

/** The `workerData` a dispatch thread starts with. */
export type ThreadStart = {credentials: TlsCredentials};

/** The run a thread's hosts belong to, sent once before its first host. */
export type ThreadRun = {
	type: 'run';
	request: AgentRunRequest;
	revoked: string[];
	connectTimeoutMs: number;
	answerGraceMs: number;
};

/** Main thread to dispatch thread: one message is a list of these (what one turn of the loop asked). */
export type ThreadOrder =
	| ThreadRun
	| {type: 'host'; id: number; target: AgentTarget}
	/** The host's own cancel fired, with its reason ('cancelled', 'run-timeout', 'idle-timeout'). */
	| {type: 'cancel'; id: number; reason: string}
	/**
	 * Ask `target` what it runs (the run's describe, before the run); `hold`: keep the connection
	 * for its run, when the agent offers it. `revoked`: the serials refused from this describe on
	 * (absent: those the thread's last describe was sent).
	 */
	| {type: 'describe'; id: number; target: AgentTarget; timeoutMs: number; revoked?: string[]; hold: boolean};

/**
 * Dispatch thread to main thread, a list per message. `fresh`: the agent refused the controller's
 * serial at the connection (a rotation completed during the run); nothing ran, and the main
 * thread, which holds the fresh credentials, tries the host once more (run-agent.ts).
 */
export type ThreadReport =
	| {id: number; event: RunEvent}
	| {id: number; result: AgentResult; fresh?: true}
	/** A describe's answer; `held`: the thread keeps its connection for the host's run (it must go to this thread). */
	| {id: number; found: Discovered; held: boolean};
