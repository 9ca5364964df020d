/**
 * Whether any process holds a file open for writing, asked of the kernel: execve(2) refuses a file
 * that is open for writing with ETXTBSY when it opens it (deny_write_access), so the probe is an
 * exec that reaches that check and then fails before anything runs, in a child that never runs
 * anything. Two ways, by when the kernel opens the file:
 *
 * - `direct` (Linux up to 5.8, and from 6.8, "execve: open the executable file before doing
 *   anything else"): an exec of `/proc/self/fd/N` with one argument longer than any kernel takes
 *   (MAX_ARG_STRLEN is 32 pages: 128 KiB with 4 KiB pages, 2 MiB with arm64's largest, 64 KiB)
 *   fails with ETXTBSY when there is a writer, else with E2BIG. Nothing can run.
 * - `chain` (Linux 5.9 to 6.7, which copy the arguments before they open the file, so that exec
 *   fails with E2BIG writer or not): an exec of the first of six `#!` files, each naming the next by
 *   descriptor and the last naming the script. The kernel opens the script as the sixth interpreter
 *   (the same check: ETXTBSY) and then refuses to handle it (ELOOP: no deeper than five), so
 *   neither the script nor its interpreter runs. The six files are unnamed (sealed-copy.ts), made
 *   once, and held for the agent's life.
 *
 * Which one this kernel needs is asked of its behaviour rather than its version (distributions
 * backport): the direct exec of an unnamed file this process holds open for writing fails with
 * E2BIG only where the arguments come first; the way chosen must then answer ETXTBSY for that
 * file, or no run that needs the probe runs (chooseMethod). Only the kernel's own answer is kept
 * for the agent's life; any other (a fork refused with EAGAIN, EMFILE, the probe thread stopped or
 * stuck, a probe on the same file system stuck) refuses the run that asked, saying why, and the next run asks again.
 *
 * Used for the scripts an interpreter reads from their files after the start (sealed-copy.ts
 * scriptSources), just before the start (execute-run.ts, auth-hook.ts): once this says no process
 * holds the file open for writing, only root and the file's owner (whom the walk trusts) could open
 * it so again, and the check that follows it compares its bytes with the hash taken at load. It
 * covers what a /proc/PID/fd scan misses: a descriptor in flight in a socket, a writable shared
 * mapping (both hold the file open). It costs a fork of the agent (measured: see README, The
 * allowlist); shell scripts read private copies instead and skip it.
 *
 * The probe is asynchronous (a port, so that a test can hold one open), and its exec is made on a
 * thread of its own (probe-thread.ts), never on the agent's event loop.
 */
import {closeSync, constants, openSync} from 'node:fs';
import {createHash} from 'node:crypto';
import {deviceOf, execOffLoop, probeBoundSeconds, stuckThreadsMax, type ExecCode} from './probe-thread.js';
import {copyDirectories, sealedCopy, tmpfileFlag} from './sealed-copy.js';

/** Undefined when no process holds the file behind `fd` (any descriptor, O_PATH will do) open for writing; else why it cannot run. */
export type WriterProbe = (fd: number, shown: string) => Promise<string | undefined>;

/** How this kernel is asked (see above), or why it cannot be. */
export type ProbeMethod = {kind: 'direct'} | {kind: 'chain'; chain: readonly number[]} | {kind: 'none'; reason: string};

/** The kernel's probe, by the method this kernel needs. */
export const probeWriter: WriterProbe = async (fd, shown) => kernelProbe(await probeMethod())(fd, shown);

/** Asks `choose` until it gives a way to probe (`direct` or `chain`: the kernel's answer), then keeps that; a `none` is never kept (it may come from a transient failure). */
export function keptMethod(choose: () => Promise<ProbeMethod>): () => Promise<ProbeMethod> {
	let chosen: Promise<ProbeMethod> | undefined;
	return async () => {
		const asking = chosen ??= choose();
		const method = await asking;
		if (method.kind === 'none' && chosen === asking) {
			chosen = undefined;
		}

		return method;
	};
}

/** The method this kernel needs: asked at the first probe, and again until the kernel answers. */
export const probeMethod = keptMethod(async () => chooseMethod());

/**
 * The way to ask this kernel, tried on an unnamed file held open for writing here: ETXTBSY from
 * the direct probe means the kernel opens the file first (so does EACCES, a noexec mount: a kernel
 * that reads the arguments first answers E2BIG before it looks at the file), and the direct probe
 * is the way; E2BIG means the arguments came first, and then the chain must answer ETXTBSY. A
 * kernel on which it does not (one that executes a file open for writing) gets no probe: those
 * runs are refused, saying so, rather than passed as unwritten. Any other answer (EAGAIN, EMFILE,
 * the probe thread stopped or stuck) is no answer: `none`, and the next probe asks again. When no
 * such file can be made, the chain.
 */
export async function chooseMethod(directories = copyDirectories(), exec = execOffLoop): Promise<ProbeMethod> {
	const held = heldForWriting(directories);
	if (held === undefined) {
		return chainMethod(directories, exec);
	}

	try {
		const device = deviceOf(held);
		const order = await exec({file: `/proc/self/fd/${held}`, oversized: true, inherited: [], device});
		if (order === 'ETXTBSY' || order === 'EACCES') {
			return {kind: 'direct'};
		}

		if (order !== 'E2BIG') {
			return {kind: 'none', reason: `asking the kernel how to check ${answered(order, device)}`};
		}

		const chain = await chainMethod(directories, exec);
		if (chain.kind !== 'chain') {
			return chain;
		}

		const selfTest = await exec({file: '/proc/self/fd/3', oversized: false, inherited: [...chain.chain, held], device});
		if (selfTest === 'ETXTBSY') {
			return chain;
		}

		closeAll(chain.chain);
		return {kind: 'none', reason: selfTest === 'ELOOP' ? 'this kernel executes a file that is open for writing (no ETXTBSY), so it cannot be asked' : `testing the way to check ${answered(selfTest, device)}`};
	} finally {
		closeSync(held);
	}
}

/** Why no probe is made while probe threads are stuck (probe-thread.ts stuckThreadsMax). */
const stuckText = `${stuckThreadsMax} earlier probes are stuck in an exec that SIGKILL did not end (hung mounts: processes in state D), and the agent starts no other probe until one of them ends`;

/** Why no probe is made of a file on `device` (probe-thread.ts: a probe on that file system is stuck). */
function stuckDeviceText(device: string): string {
	return `an earlier probe of a file on its file system, device ${device}, is stuck in an exec that SIGKILL did not end (a hung mount: processes in state D); files on other file systems are still checked, this one not until that probe ends: the mount is the line with ${device} in /proc/self/mountinfo`;
}

/** Why the kernel gave no answer, for the codes the probe thread answers itself (undefined: the kernel's own code). */
function notProbed(code: string | undefined, device: string): string | undefined {
	switch (code) {
		case 'probe-thread': {
			return 'the agent\'s probe thread stopped';
		}

		case 'timeout': {
			return `its exec got no answer within ${probeBoundSeconds} s and was killed: is a mount on its way hung?`;
		}

		case 'stuck': {
			return stuckText;
		}

		case 'stuck-device': {
			return stuckDeviceText(device);
		}

		default: {
			return undefined;
		}
	}
}

/** An exec's answer other than the expected one, in words. */
function answered(code: ExecCode, device: string): string {
	const why = notProbed(code, device);
	if (why !== undefined) {
		return `could not be made (${why})`;
	}

	return code === undefined ? 'ran a file it must not' : `failed with ${code}`;
}

/** An unnamed file in the first of `directories` that takes one, held open for writing; undefined if none does. */
function heldForWriting(directories: readonly string[]): number | undefined {
	for (const directory of directories) {
		try {
			return openSync(directory, tmpfileFlag(constants.O_DIRECTORY) | constants.O_RDWR, 0o700);
		} catch {
			// The next directory.
		}
	}

	return undefined;
}

/** The probe by one method: what the exec's error code says about the file behind `fd`. */
export function kernelProbe(method: ProbeMethod): WriterProbe {
	return async (fd, shown) => {
		if (method.kind === 'none') {
			return `cannot check for writers of ${shown}: ${method.reason}; nothing ran, and the next run asks again`;
		}

		let device: string;
		try {
			device = deviceOf(fd);
		} catch (error) {
			return `whether ${shown} is open for writing cannot be checked (fstat of its descriptor failed with ${(error as NodeJS.ErrnoException).code ?? 'an error'}); nothing ran`;
		}

		const code = method.kind === 'direct'
			? await execOffLoop({file: `/proc/self/fd/${fd}`, oversized: true, inherited: [], device})
			: await execOffLoop({file: '/proc/self/fd/3', oversized: false, inherited: [...method.chain, fd], device});
		return writerVerdict(code, shown, method.kind === 'direct' ? 'E2BIG' : 'ELOOP', device);
	};
}

/** What an exec error code says (undefined: the exec ran); `none` is the code that means no writer; `device`: the file's file system. Pure. */
export function writerVerdict(code: string | undefined, shown: string, none: 'E2BIG' | 'ELOOP' = 'E2BIG', device = '?'): string | undefined {
	if (code === none) {
		return undefined;
	}

	const why = notProbed(code, device);
	if (why !== undefined) {
		return `whether ${shown} is open for writing cannot be checked (${why}); nothing ran`;
	}

	if (code === 'ETXTBSY') {
		return `${shown} is open for writing by another process (ETXTBSY), and its interpreter reads it only after the start, so what runs could differ from what was checked; close it (fuser -v ${shown} names the process), then run again`;
	}

	return `whether ${shown} is open for writing cannot be checked (an exec of it ${code === undefined ? 'ran' : `failed with ${code}`}: the agent's user must be able to execute it, and it must not be on a noexec mount); nothing ran`;
}

/** The six `#!` files of the chain, each an unnamed file naming the next by the descriptor the probe's child gets it as (3 to 8; the script is 9), checked to end in ELOOP. */
export async function chainMethod(directories = copyDirectories(), exec = execOffLoop): Promise<ProbeMethod> {
	const chain: number[] = [];
	const owner = {uid: process.geteuid?.() ?? 0, gid: process.getegid?.() ?? 0, mode: 0o500};
	for (let index = 0; index < 6; index++) {
		const line = Buffer.from(`#!/proc/self/fd/${4 + index}\n`);
		const sealed = sealedCopy(line, createHash('sha256').update(line).digest('hex'), owner, 'the writer probe\'s file', directories);
		if (typeof sealed === 'string') {
			closeAll(chain);
			return {kind: 'none', reason: `this kernel reads an exec's arguments before the file, and ${sealed}`};
		}

		chain.push(sealed);
	}

	// Asked about its own first file, the chain must end in ELOOP: else (a noexec /dev/shm, say) nothing can be asked with it.
	const device = deviceOf(chain[0]!);
	const code = await exec({file: '/proc/self/fd/3', oversized: false, inherited: [...chain, chain[0]!], device});
	if (code !== 'ELOOP') {
		closeAll(chain);
		const why = code === 'EACCES' ? `the agent's probe files in ${directories.join(' or ')} cannot be executed (EACCES): allow exec on one of them` : `testing its probe files ${answered(code, device)}`;
		return {kind: 'none', reason: `this kernel reads an exec's arguments before the file, and ${why}`};
	}

	return {kind: 'chain', chain};
}

function closeAll(descriptors: readonly number[]): void {
	for (const descriptor of descriptors) {
		closeSync(descriptor);
	}
}

/**
 * The first problem of the files behind `fds` (in order), each shown as its path; all probed at
 * once. Undefined when no process holds any of them open for writing.
 */
export async function firstWriterProblem(probe: WriterProbe, files: ReadonlyArray<{fd: number; path: string}>): Promise<string | undefined> {
	const problems = await Promise.all(files.map(async file => probe(file.fd, file.path)));
	return problems.find(problem => problem !== undefined);
}
