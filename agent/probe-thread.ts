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
 * own thread id, /proc/self/task/TID/children) are killed, the probe whose exec it had started
 * (it notes each one's id in shared memory just before its spawn) is answered `timeout` (the run is
 * refused, saying so), and the thread is left to end; the probes only queued behind that one never
 * reached the kernel, so each is sent once more, to the next thread (a second bound passing on it
 * answers `timeout` too). A child stuck in an uninterruptible wait (a hung NFS mount) outlives
 * SIGKILL, and its thread with it (~10 MiB each): such a thread is counted until it ends, by the file
 * system (st_dev) of the file its probe had started on. A probe of a file on a file system with a
 * stuck probe is answered `stuck-device` at once, never sent (it would hang another thread); files
 * on other file systems are still probed. And while `stuckThreadsMax` such threads, whatever their
 * file systems, have not ended, no other is started and every probe is answered `stuck` at once; so
 * hung mounts cost the agent at most `stuckThreadsMax` + 1 probe threads (the one in use may be stuck
 * too). Once one ends, its file system and its place are free again. Only the kernel's own answer
 * lets a run pass (writer-check.ts); every other answer here refuses it.
 */
import {fstatSync, readFileSync} from 'node:fs';
import {Worker} from 'node:worker_threads';

/**
 * One exec that must fail: `file`, with the oversized argument or none, the child's descriptors
 * from 3; `device`: the file system (deviceOf) of the file the probe asks about, which a hung
 * mount's exec would hang on.
 */
export type ProbeExec = {file: string; oversized: boolean; inherited: readonly number[]; device: string};

/**
 * The exec's error code; undefined when it ran (the child was killed at once); `probe-thread` when
 * the thread stopped, `timeout` when it did not answer in time, `stuck-device` when it was not
 * made as a probe on the same file system is stuck, `stuck` when no thread was started as
 * `stuckThreadsMax` earlier ones have not ended.
 */
export type ExecCode = string | undefined;

/** How long the probe thread may go without an answer while a probe is out. */
export const probeBoundSeconds = 5;

/** Probe threads that did not answer in time and have not ended (their child outlived SIGKILL): past this many, none is started (~10 MiB each). */
export const stuckThreadsMax = 8;

/** The file system of the file behind `fd`, as /proc/self/mountinfo names it (MAJOR:MINOR of st_dev); throws as fstat(2) does. */
export function deviceOf(fd: number): string {
	const {dev} = fstatSync(fd, {bigint: true});
	// Glibc's (and libuv's) makedev: 12 bits of major from bit 8, 8 of minor from bit 0, the rest of each higher up.
	const major = ((dev >> 8n) & 0xF_FFn) | ((dev >> 32n) & ~0xF_FFn);
	const minor = (dev & 0xFFn) | ((dev >> 12n) & ~0xFFn);
	return `${major}:${minor}`;
}

// Threads left to end after their bound, until they do: each with the file system its probe hung on (undefined: it had started none).
const stuck = new Map<Worker, string | undefined>();

// First, the thread's own id, by which its children are found; then where it notes the id of the probe whose spawn it starts.
const threadStart = `
require('node:worker_threads').parentPort.postMessage({tid: Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop())});
const startedProbe = new Int32Array(require('node:worker_threads').workerData);
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
	// Which probe a spawn that never returns holds: read by the agent when the bound passes.
	Atomics.store(startedProbe, 0, id);
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

/** A probe out: sent once more when a thread is given up before it reached it (`resent`). */
type Probe = {exec: ProbeExec; resolve: (code: ExecCode) => void; resent: boolean};

type Thread = {worker: Worker; pending: Map<number, Probe>; started: Int32Array; tid?: number; watchdog?: NodeJS.Timeout};

let thread: Thread | undefined;
let nextId = 0;
let testCode = '';
let boundMs = probeBoundSeconds * 1000;

/** The exec's error code, asked on the probe thread. */
export async function execOffLoop(exec: ProbeExec): Promise<ExecCode> {
	return new Promise(resolve => {
		send({exec, resolve, resent: false});
	});
}

/** Sends the probe to the thread (started if none), unless a stuck probe on its file system, or too many stuck threads, answer it at once. */
function send(probe: Probe): void {
	if ([...stuck.values()].includes(probe.exec.device)) {
		probe.resolve('stuck-device');
		return;
	}

	if (!thread && stuck.size >= stuckThreadsMax) {
		probe.resolve('stuck');
		return;
	}

	const current = thread ?? startThread();
	const id = nextId;
	nextId = (nextId + 1) & 0x7F_FF_FF_FF;
	current.pending.set(id, probe);
	if (current.pending.size === 1) {
		watch(current);
	}

	current.worker.ref();
	current.worker.postMessage({id, file: probe.exec.file, big: probe.exec.oversized, inherited: [...probe.exec.inherited]});
}

function startThread(): Thread {
	const started = new Int32Array(new SharedArrayBuffer(4)).fill(-1);
	const worker = new Worker(threadStart + testCode + threadCode, {eval: true, workerData: started.buffer, stdout: false, stderr: false, resourceLimits: {maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4}});
	const current: Thread = {worker, pending: new Map(), started};
	worker.on('message', (message: {id: number; code: string | null} | {tid: number}) => {
		if ('tid' in message) {
			current.tid = message.tid;
			return;
		}

		current.pending.get(message.id)?.resolve(message.code ?? undefined);
		current.pending.delete(message.id);
		if (current.pending.size === 0) {
			clearTimeout(current.watchdog);
			worker.unref();
		} else {
			watch(current);
		}
	});
	worker.on('error', () => answerAll(current, 'probe-thread'));
	worker.on('exit', () => {
		stuck.delete(worker);
		answerAll(current, 'probe-thread');
	});
	worker.unref();
	thread = current;
	return current;
}

/** No more probes to `current`: the ones it held, taken from it. */
function giveUp(current: Thread): Probe[] {
	clearTimeout(current.watchdog);
	if (thread === current) {
		thread = undefined;
	}

	const probes = [...current.pending.values()];
	current.pending.clear();
	return probes;
}

function answerAll(current: Thread, code: ExecCode): void {
	for (const probe of giveUp(current)) {
		probe.resolve(code);
	}
}

/** (Re)arms the bound: the thread must answer within it. */
function watch(current: Thread): void {
	clearTimeout(current.watchdog);
	current.watchdog = setTimeout(expire, boundMs, current);
	current.watchdog.unref();
}

/** The bound passed: the hung probe's child killed, the thread given up and counted stuck, the probes it held answered or sent again. */
function expire(current: Thread): void {
	killChildren(current.tid);
	const hung = current.pending.get(Atomics.load(current.started, 0));
	// Counted until it ends ('exit'): a child in an uninterruptible wait holds it past SIGKILL and terminate().
	stuck.set(current.worker, hung?.exec.device);
	current.worker.unref();
	void current.worker.terminate();
	for (const probe of giveUp(current)) {
		if (probe === hung || probe.resent) {
			probe.resolve('timeout');
		} else {
			// Queued behind the one that hangs, never asked: once more, on the next thread (or answered `stuck-device`, `stuck`).
			send({...probe, resent: true});
		}
	}
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
	if (current) {
		answerAll(current, 'probe-thread');
		await current.worker.terminate();
	}
}

/** How many probe threads passed their bound and have not ended (tests). */
export function stuckProbeThreads(): number {
	return stuck.size;
}

/** How many probes the current thread holds (tests: one queued behind another). */
export function probesOut(): number {
	return thread?.pending.size ?? 0;
}

/** Tests: the bound of the current thread passes now (false: no probe is out). */
export function expireProbeBound(): boolean {
	if (thread?.pending.size) {
		expire(thread);
		return true;
	}

	return false;
}

/**
 * Tests: code each next probe thread runs before its own (it may replace `require('node:child_process').spawn`,
 * which the thread's code takes after it), and the bound (undefined: the agent's own).
 */
export function probeThreadForTests(code?: string, testBoundMs?: number): void {
	testCode = code ?? '';
	boundMs = testBoundMs ?? probeBoundSeconds * 1000;
}
