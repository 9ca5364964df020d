/**
 * Whether any process holds a file open for writing, asked of the kernel: execve(2) refuses a
 * file that is open for writing with ETXTBSY, and that check comes before anything else it does
 * with the arguments. So an exec of the file through its descriptor (`/proc/self/fd/N`) with one
 * argument longer than any kernel takes (MAX_ARG_STRLEN is 32 pages: 128 KiB with 4 KiB pages,
 * 2 MiB with arm64's largest, 64 KiB) fails with ETXTBSY when there is a writer, else with E2BIG,
 * in a child that never runs anything.
 *
 * Used for the scripts an interpreter reads from their files after the start (sealed-copy.ts
 * scriptSources), just before the start (execute-run.ts, auth-hook.ts): once this says no process
 * holds the file open for writing, only root and the file's owner (whom the walk trusts) could open
 * it so again, and the check that follows it compares its bytes with the hash taken at load. It
 * covers what a /proc/PID/fd scan misses: a descriptor in flight in a socket, a writable shared
 * mapping (both hold the file open). It costs a fork of the agent (measured: see README, The
 * allowlist); shell scripts read private copies instead and skip it.
 *
 * The probe is asynchronous (a port, so that a test can hold one open and a spawn helper could
 * answer it): node's spawn() learns of a failed exec before it returns (libuv reads the child's
 * errno from a close-on-exec pipe), but an exec that should fail and did not never holds the
 * event loop while it runs, as spawnSync's did.
 */
import {spawn, type ChildProcess, type SpawnOptions} from 'node:child_process';

/** Undefined when no process holds the file behind `fd` (any descriptor, O_PATH will do) open for writing; else why it cannot run. */
export type WriterProbe = (fd: number, shown: string) => Promise<string | undefined>;

/** Longer than MAX_ARG_STRLEN (32 pages) for every page size of x86-64 and arm64: exec always refuses it. */
const oversized = 'x'.repeat((2 * 1024 * 1024) + 1);

/** The kernel's probe: an exec of `/proc/self/fd/N` that cannot succeed (writer-check.ts). */
export const probeWriter: WriterProbe = async (fd, shown) => new Promise(resolve => {
	let child: ChildProcess;
	try {
		child = spawn(`/proc/self/fd/${fd}`, [oversized], probeOptions());
	} catch (error) {
		// Node throws, rather than emits, most exec errors: E2BIG and ETXTBSY among them.
		resolve(writerVerdict((error as NodeJS.ErrnoException).code, shown));
		return;
	}

	// EACCES and ENOENT come as an event; a started child (the exec succeeded) is killed at once.
	child.once('error', (error: NodeJS.ErrnoException) => {
		resolve(writerVerdict(error.code, shown));
	});
	child.once('spawn', () => {
		child.kill('SIGKILL');
		resolve(writerVerdict(undefined, shown));
	});
});

/** What an exec error code says (undefined: the exec ran). Pure. */
export function writerVerdict(code: string | undefined, shown: string): string | undefined {
	if (code === 'E2BIG') {
		return undefined;
	}

	if (code === 'ETXTBSY') {
		return `${shown} is open for writing by another process (ETXTBSY), and its interpreter reads it only after the start, so what runs could differ from what was checked; close it (fuser -v ${shown} names the process), then run again`;
	}

	return `whether ${shown} is open for writing cannot be checked (an exec of it ${code === undefined ? 'ran' : `failed with ${code}`}: the agent's user must be able to execute it, and it must not be on a noexec mount); nothing ran`;
}

/**
 * The first problem of the files behind `fds` (in order), each shown as its path; all probed at
 * once. Undefined when no process holds any of them open for writing.
 */
export async function firstWriterProblem(probe: WriterProbe, files: ReadonlyArray<{fd: number; path: string}>): Promise<string | undefined> {
	const problems = await Promise.all(files.map(async file => probe(file.fd, file.path)));
	return problems.find(problem => problem !== undefined);
}

/** Every option node reads, own properties of a null-prototype object, as run-script.ts does: nothing from a polluted prototype. */
function probeOptions(): SpawnOptions {
	return Object.assign(Object.create(null) as SpawnOptions, {
		shell: false,
		detached: false,
		stdio: 'ignore',
		env: Object.create(null) as Record<string, string>,
		cwd: '/',
		argv0: undefined,
		uid: undefined,
		gid: undefined,
		windowsHide: true,
		windowsVerbatimArguments: false,
		serialization: 'json',
		timeout: undefined,
		killSignal: undefined,
		signal: undefined,
	} satisfies SpawnOptions);
}
