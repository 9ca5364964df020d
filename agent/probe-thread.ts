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
 */
import {Worker} from 'node:worker_threads';

/** One exec that must fail: `file`, with the oversized argument or none, the child's descriptors from 3. */
export type ProbeExec = {file: string; oversized: boolean; inherited: readonly number[]};

/** The exec's error code; undefined when it ran (the child was killed at once); `probe-thread` when the thread stopped. */
export type ExecCode = string | undefined;

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

type Thread = {worker: Worker; pending: Map<number, (code: ExecCode) => void>; stopped: () => void};

let thread: Thread | undefined;
let nextId = 0;

/** The exec's error code, asked on the probe thread. */
export async function execOffLoop(exec: ProbeExec): Promise<ExecCode> {
	const {worker, pending} = thread ?? startThread();
	const id = nextId++;
	return new Promise(resolve => {
		pending.set(id, resolve);
		worker.ref();
		worker.postMessage({id, file: exec.file, big: exec.oversized, inherited: [...exec.inherited]});
	});
}

function startThread(): Thread {
	const worker = new Worker(threadCode, {eval: true, stdout: false, stderr: false, resourceLimits: {maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4}});
	const pending = new Map<number, (code: ExecCode) => void>();
	worker.on('message', ({id, code}: {id: number; code: string | null}) => {
		pending.get(id)?.(code ?? undefined);
		pending.delete(id);
		if (pending.size === 0) {
			worker.unref();
		}
	});
	const stopped = () => {
		if (thread === started) {
			thread = undefined;
		}

		for (const resolve of pending.values()) {
			resolve('probe-thread');
		}

		pending.clear();
	};

	const started: Thread = {worker, pending, stopped};
	worker.on('error', stopped);
	worker.on('exit', stopped);
	worker.unref();
	thread = started;
	return started;
}

/** Ends the probe thread, answering the probes it held "cannot be checked" (tests); the next probe starts another. */
export async function stopProbeThread(): Promise<void> {
	const current = thread;
	current?.stopped();
	await current?.worker.terminate();
}
