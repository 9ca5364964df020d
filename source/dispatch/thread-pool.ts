/**
 * A run's host exchanges spread over dispatch threads (thread-worker.ts), so that the TLS
 * handshakes and frame parsing of a large fan-out use more than one core. It is dispatch()'s
 * `runOnHost`: the dispatcher, its rollout, its timeouts and every consumer of the run's events
 * (the history, the audit of each outcome, the faces) stay on the main thread, which recorded the
 * request before any host was handed out. A thread is handed a host, told when that host's own
 * cancel fires (a cancel, --run-timeout, --idle-timeout), and reports the host's events and its
 * result, which the main thread passes on exactly as runOnAgent's own.
 *
 * The run's describe (discover.ts) may go over the same threads first: each target's describe on
 * one, which keeps the connection the agent leaves open for the run, and that host then runs on
 * that thread (sockets cannot move between threads). Some hosts stay on the main thread: those
 * whose connection the main thread holds (a describe's made there, an early dial's) and relay
 * hosts (no handshake per host, and one broker connection per run). A thread that stops (a crash)
 * ends each host it held as an `error` that says so, with the output already received, and each
 * describe it held as unreachable; later hosts go to the other threads, or to the main thread
 * when none is left.
 */
import {existsSync} from 'node:fs';
import {fileURLToPath} from 'node:url';
import {debuglog} from 'node:util';
import {Worker} from 'node:worker_threads';
import type {TlsCredentials} from '../pki/credentials.js';
import type {AgentResult} from '../run/events.js';
import type {AgentTarget} from './agent-connection.js';
import type {Discovered} from './discover.js';
import {runOnAgent, type AgentRunOptions, type AgentRunRequest} from './run-agent.js';
import {lostRunNextStep, type ThreadOrder, type ThreadReport, type ThreadStart} from './thread-messages.js';
import {describesOn, leastBusy, type Thread} from './thread-describes.js';
import {threadProgram} from './thread-program.js';

export type DispatchThreads = {
	/** dispatch()'s `runOnHost`. */
	runOnHost: (target: AgentTarget, request: AgentRunRequest, options: AgentRunOptions) => Promise<AgentResult>;
	/**
	 * discover.ts's describe of one direct-TLS target, on a thread; undefined when none is left
	 * (the caller describes on the main thread). `holdUpTo`: how many of the describes'
	 * connections to keep for the run (its first wave); a host whose connection a thread keeps
	 * runs on that thread.
	 */
	describe: (target: AgentTarget, options: {timeoutMs: number; revoked?: ReadonlySet<string>; holdUpTo: number}) => Promise<Discovered> | undefined;
	/** How many threads started (a thread the system would not make is left out). */
	readonly count: number;
	/** Stops the threads (after the run: every host has ended). */
	close: () => Promise<void>;
};

/**
 * A dispatch thread's program: a file (thread-worker.js beside this module, where npm run build
 * puts a copy of it), or its code when the build carries it inside (the release: thread-program.ts).
 * A thread takes this process's node flags (node's default), unless `execArgv` says which: a bench
 * under `--import=tsx` starts the built program with none, as the CLI's threads have (tsx loaded
 * in each thread would be in every thread's start).
 */
export type ThreadEntry = URL | {code: string} | {url: URL; execArgv: string[]};

const workerEntry: ThreadEntry = threadProgram === undefined ? new URL('thread-worker.js', import.meta.url) : {code: threadProgram};

/**
 * Whether the dispatch thread is there to start: not when this module runs from the source under
 * tsx (a worker thread does not inherit tsx's hooks), so a run there uses the main thread alone.
 */
export function threadsAvailable(entry: ThreadEntry = workerEntry): boolean {
	const url = entry instanceof URL ? entry : 'url' in entry ? entry.url : undefined;
	return url === undefined || (url.protocol === 'file:' && existsSync(fileURLToPath(url)));
}

/** `NODE_DEBUG=xi-exec-threads`: which thread each host ran on, on stderr (node's own debug switch; nothing is formatted otherwise). */
const debug = debuglog('xi-exec-threads');

type Host = {
	target: AgentTarget;
	request: AgentRunRequest;
	options: AgentRunOptions;
	thread: Thread;
	startedAt: number;
	stdout: string;
	stderr: string;
	resolve: (result: AgentResult | Promise<AgentResult>) => void;
	onCancel: () => void;
};

/** `count` dispatch threads made with `credentials` (the controller's, as the run's context was made). */
export function openDispatchThreads(count: number, credentials: TlsCredentials, entry: ThreadEntry = workerEntry): DispatchThreads {
	const hosts = new Map<number, Host>();
	const ids = {next: 0};
	let closing = false;
	const end = (id: number, host: Host) => {
		hosts.delete(id);
		host.thread.inFlight--;
		host.options.cancel.removeEventListener('abort', host.onCancel);
	};

	const onReports = (reports: ThreadReport[]) => {
		for (const report of reports) {
			if ('found' in report) {
				describes.found(report.id, report.found, report.held);
				continue;
			}

			const host = hosts.get(report.id);
			if (!host) {
				continue;
			}

			if ('event' in report) {
				if (report.event.type === 'agent-output') {
					host[report.event.stream] += report.event.data;
				}

				host.options.emit(report.event);
			} else {
				debug('%s: %s from dispatch thread %d (thread id %d)', host.target.name, report.result.status, host.thread.index + 1, host.thread.worker.threadId);
				end(report.id, host);
				host.resolve(report.fresh ? retryFresh(host, report.result) : report.result);
			}
		}
	};

	const stopped = (thread: Thread, why: string) => {
		if (!thread.alive || closing) {
			return;
		}

		thread.alive = false;
		for (const [id, host] of hosts) {
			if (host.thread === thread) {
				end(id, host);
				host.resolve(crashed(host, why));
			}
		}

		describes.stopped(thread, why);
	};

	const threads = Array.from({length: count}, (_, index) => startThread(index, credentials, entry, onReports, stopped)).filter(thread => thread !== undefined);

	const describes = describesOn(threads, ids, send);

	return {
		async runOnHost(target, request, options) {
			// A host whose describe's connection a thread keeps goes to that thread (sockets stay in their thread).
			const thread = describes.holder(target.name) ?? leastBusy(threads);
			const onMain = !thread ? 'no dispatch thread is left' : (stayOnMain(target, options) ? 'its connection or relay is here' : (thread.request && thread.request !== request ? 'the threads serve another run' : undefined));
			if (!thread || onMain) {
				debug('%s: on the main thread (%s)', target.name, onMain);
				return runOnAgent(target, request, options);
			}

			if (!thread.request) {
				thread.request = request;
				send(thread, {type: 'run', request, revoked: [...(options.revoked ?? [])], connectTimeoutMs: options.connectTimeoutMs, answerGraceMs: options.answerGraceMs});
			}

			const id = ids.next++;
			return new Promise<AgentResult>(resolve => {
				const onCancel = () => send(thread, {type: 'cancel', id, reason: String(options.cancel.reason)});
				hosts.set(id, {target, request, options, thread, startedAt: Date.now(), stdout: '', stderr: '', resolve, onCancel});
				thread.inFlight++;
				// As runOnAgent does first; the thread does not report it again (one message less per host).
				options.emit({type: 'agent-connecting', agent: target.name});
				// As the thread dials it (direct TLS: stayOnMain keeps the others here), not the registry's whole record.
				send(thread, {type: 'host', id, target: {name: target.name, address: target.address}});
				if (options.cancel.aborted) {
					onCancel();
				} else {
					options.cancel.addEventListener('abort', onCancel, {once: true});
				}
			});
		},
		describe: describes.describe,
		count: threads.length,
		async close() {
			closing = true;
			await Promise.all(threads.map(async thread => thread.worker.terminate()));
		},
	};
}

/** Undefined when the system would not make the thread (ERR_WORKER_INIT_FAILED: a pids limit, no memory for its stack): its hosts go to the others, or the main thread. */
function startThread(index: number, credentials: TlsCredentials, entry: ThreadEntry, onReports: (reports: ThreadReport[]) => void, stopped: (thread: Thread, why: string) => void): Thread | undefined {
	const start: ThreadStart = {credentials};
	let worker: Worker;
	try {
		worker = entry instanceof URL ? new Worker(entry, {workerData: start})
			: 'url' in entry ? new Worker(entry.url, {workerData: start, execArgv: entry.execArgv})
				: new Worker(entry.code, {eval: true, workerData: start});
	} catch (error) {
		debug('dispatch thread %d did not start (%s): its hosts go to the other threads or the main thread', index + 1, (error as Error).message);
		return undefined;
	}

	const thread: Thread = {index, worker, alive: true, inFlight: 0, orders: []};
	thread.worker.on('message', onReports);
	// Its hosts are ended at its exit, once node has delivered every report it sent before it stopped; an error, if any, comes first and says why.
	let why: string | undefined;
	thread.worker.on('error', error => {
		why = error.message;
	});
	thread.worker.on('exit', code => stopped(thread, why ?? `it exited with code ${code}`));
	return thread;
}

/** Queues `order` for `thread`: the hosts the dispatcher starts in one go (a wave) go as one message. */
function send(thread: Thread, order: ThreadOrder): void {
	thread.orders.push(order);
	if (thread.orders.length === 1) {
		queueMicrotask(() => {
			const orders = thread.orders;
			thread.orders = [];
			if (thread.alive) {
				thread.worker.postMessage(orders);
			}
		});
	}
}

/** A connection the run already holds (sockets stay in their thread), or the relay. */
function stayOnMain(target: AgentTarget, options: AgentRunOptions): boolean {
	return (target.transport !== undefined && target.transport !== 'tls') || options.context.early !== undefined || (options.hold?.has(target.name) ?? false);
}

/** As runOnAgent does on the main thread: once more with the controller's fresh credentials, if there are any. */
async function retryFresh(host: Host, refused: AgentResult): Promise<AgentResult> {
	const fresh = host.options.freshContext?.();
	if (!fresh) {
		return refused;
	}

	// The host's `agent-connecting` went out with the first attempt.
	const {freshContext: _asked, ...options} = host.options;
	const emit: AgentRunOptions['emit'] = event => {
		if (event.type !== 'agent-connecting') {
			options.emit(event);
		}
	};

	return runOnAgent(host.target, host.request, {...options, context: fresh, emit});
}

function crashed(host: Host, why: string): AgentResult {
	return {
		agent: host.target.name,
		status: 'error',
		exitCode: null,
		signal: null,
		stdout: host.stdout,
		stderr: host.stderr,
		truncated: false,
		durationMs: Date.now() - host.startedAt,
		reason: `the controller's dispatch thread ${host.thread.index + 1} stopped while it ran this host (${why}): ${lostRunNextStep}`,
	};
}
