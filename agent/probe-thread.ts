/**
 * The writer probe's exec (writer-check.ts), made on a thread of its own rather than the agent's
 * event loop: node's spawn() returns only once the child has exec'd or failed to (libuv reads the
 * child's errno from a close-on-exec pipe), so the loop would wait for a fork of the whole agent and
 * for the child to be scheduled; measured at load 23, 10.7 ms of a blocked loop per probe, against
 * 2.2 ms of CPU. On this thread the fork and the wait hold up nothing but other probes.
 *
 * The thread starts at the first probe (an agent that runs only shell scripts never starts it),
 * its code is a string (no file beside the bundle or in the single executable to find), it keeps
 * the process alive only while a probe is out, and if it stops, the probes out are answered
 * "cannot be checked" (the run is refused) and the next probe starts another. Descriptors are the
 * process's, so the thread execs `/proc/self/fd/N` of the agent's own files.
 *
 * An exec can hang (a file on a hung NFS or FUSE mount), and spawn() with it, holding the thread.
 * So the thread must answer within a bound while a probe is out: else its children (listed by its
 * own thread id, /proc/self/task/TID/children) are killed, every probe it held is answered
 * `timeout` (the run is refused, saying so), and the thread is left to end; the next probe starts
 * another. A child stuck in an uninterruptible wait (a hung NFS mount) outlives SIGKILL, and its
 * thread with it (~10 MiB each): while `stuckThreadsMax` such threads have not ended, no other is
 * started and every probe is answered `stuck` (the run is refused, saying so) at once; once one
 * ends, the next probe starts a thread again. So a hung mount costs the agent at most
 * `stuckThreadsMax` + 1 probe threads (the one in use may be stuck too).
 */
import {readFileSync} from 'node:fs';
import {Worker} from 'node:worker_threads';

/** One exec that must fail: `file`, with the oversized argument or none, the child's descriptors from 3. */
export type ProbeExec = {file: string; oversized: boolean; inherited: readonly number[]};

/**
 * The exec's error code; undefined when it ran (the child was killed at once); `probe-thread` when
 * the thread stopped, `timeout` when it did not answer in time, `stuck` when no thread was started
 * as `stuckThreadsMax` earlier ones have not ended.
 */
export type ExecCode = string | undefined;

/** How long the probe thread may go without an answer while a probe is out. */
export const probeBoundSeconds = 5;

/** Probe threads that did not answer in time and have not ended (their child outlived SIGKILL): past this many, none is started. */
export const stuckThreadsMax = 2;

// Threads left to end after their bound, until they do.
const stuck = new Set<Worker>();

// First, the thread's own id, by which its children are found.
const threadStart = `
require('node:worker_threads').parentPort.postMessage({tid: Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop())});
`;

const threadCode = `
const {parentPort} = require('node:worker_threads');
const {spawn} = require('node:child_process');
// Longer than MAX_ARG_STRLEN (32 pages) for every page size of x86-64 and arm64: exec always refuses it.
const oversized = 'x'.repeat((2 * 1024 * 1024) + 1);
const answer = (id, code) => parentPort.postMessage({id, code: code === undefined ? null : String(code)});
parentPort.on('message', ({id, file, big, inherited}) => {
	// Every option node reads, own properties of a null-prototype object: nothing from a polluted prototype.
	const options = Object.assign(Object.create(null), {
		shell: false, detached: false, stdio: ['ignore', 'ignore', 'ignore', ...inherited], env: Object.create(null), cwd: '/',
		argv0: undefined, uid: undefined, gid: undefined, windowsHide: true, windowsVerbatimArguments: false,
		serialization: 'json', timeout: undefined, killSignal: undefined, signal: undefined,
	});
	let child;
	try {
		child = spawn(file, big ? [oversized] : [], options);
	} catch (error) {
		// Node throws, rather than emits, most exec errors: E2BIG, ETXTBSY and ELOOP among them.
		answer(id, error.code ?? 'error');
		return;
	}

	// EACCES and ENOENT come as an event; a started child (the exec succeeded) is killed at once.
	child.once('error', error => answer(id, error.code ?? 'error'));
	child.once('spawn', () => {
		child.kill('SIGKILL');
		answer(id, undefined);
	});
});
`;

type Thread = {worker: Worker; pending: Map<number, (code: ExecCode) => void>; stopped: (code?: ExecCode) => void; tid?: number; watchdog?: NodeJS.Timeout};

let thread: Thread | undefined;
let nextId = 0;
let code = threadCode;
let boundMs = probeBoundSeconds * 1000;

/** The exec's error code, asked on the probe thread. */
export async function execOffLoop(exec: ProbeExec): Promise<ExecCode> {
	if (!thread && stuck.size >= stuckThreadsMax) {
		return 'stuck';
	}

	const current = thread ?? startThread();
	const id = nextId++;
	return new Promise(resolve => {
		current.pending.set(id, resolve);
		if (current.pending.size === 1) {
			watch(current);
		}

		current.worker.ref();
		current.worker.postMessage({id, file: exec.file, big: exec.oversized, inherited: [...exec.inherited]});
	});
}

function startThread(): Thread {
	const worker = new Worker(threadStart + code, {eval: true, stdout: false, stderr: false, resourceLimits: {maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4}});
	const pending = new Map<number, (code: ExecCode) => void>();
	worker.on('message', (message: {id: number; code: string | null} | {tid: number}) => {
		if ('tid' in message) {
			started.tid = message.tid;
			return;
		}

		pending.get(message.id)?.(message.code ?? undefined);
		pending.delete(message.id);
		if (pending.size === 0) {
			clearTimeout(started.watchdog);
			worker.unref();
		} else {
			watch(started);
		}
	});
	const stopped = (answer: ExecCode = 'probe-thread') => {
		clearTimeout(started.watchdog);
		if (thread === started) {
			thread = undefined;
		}

		for (const resolve of pending.values()) {
			resolve(answer);
		}

		pending.clear();
	};

	const started: Thread = {worker, pending, stopped};
	worker.on('error', () => stopped());
	worker.on('exit', () => {
		stuck.delete(worker);
		stopped();
	});
	worker.unref();
	thread = started;
	return started;
}

/** (Re)arms the bound: the thread must answer within it. */
function watch(current: Thread): void {
	clearTimeout(current.watchdog);
	current.watchdog = setTimeout(() => {
		killChildren(current.tid);
		current.stopped('timeout');
		// Counted until it ends ('exit'): a child in an uninterruptible wait holds it past SIGKILL and terminate().
		stuck.add(current.worker);
		current.worker.unref();
		void current.worker.terminate();
	}, boundMs);
	current.watchdog.unref();
}

/** SIGKILL to every child of the thread `tid` (its probe's child, stuck in its exec). */
function killChildren(tid: number | undefined): void {
	let children: string[] = [];
	try {
		children = readFileSync(`/proc/self/task/${tid}/children`, 'utf8').trim().split(' ').filter(Boolean);
	} catch {
		// No thread id yet, or no CONFIG_PROC_CHILDREN: nothing to kill by.
	}

	for (const child of children) {
		try {
			process.kill(Number(child), 'SIGKILL');
		} catch {
			// Gone already.
		}
	}
}

/** Ends the probe thread, answering the probes it held "cannot be checked" (tests); the next probe starts another. */
export async function stopProbeThread(): Promise<void> {
	const current = thread;
	current?.stopped();
	await current?.worker.terminate();
}

/** How many probe threads passed their bound and have not ended (tests). */
export function stuckProbeThreads(): number {
	return stuck.size;
}

/** Tests: the code the next probe thread runs, and its bound (undefined: the agent's own). */
export function probeThreadForTests(testCode?: string, testBoundMs?: number): void {
	code = testCode ?? threadCode;
	boundMs = testBoundMs ?? probeBoundSeconds * 1000;
}
