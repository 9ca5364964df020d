/**
 * Whether any process holds a file open for writing, asked of the kernel: execve(2) refuses a
 * file that is open for writing with ETXTBSY, and that check comes before anything else it does
 * with the arguments. So an exec of the file through its descriptor (`/proc/self/fd/N`) with one
 * argument longer than any kernel takes (MAX_ARG_STRLEN is 32 pages: 128 KiB with 4 KiB pages,
 * 2 MiB with arm64's largest, 64 KiB) fails with ETXTBSY when there is a writer, else with E2BIG,
 * in a child that never runs anything.
 *
 * Used for the scripts an interpreter reads from their files after the start (sealed-copy.ts
 * scriptSources): once this says no process holds the file open for writing, only root and the
 * file's owner (whom the walk trusts) could open it so again, and the check just before the start
 * compares its bytes with the hash taken at load. It covers what a /proc/PID/fd scan misses: a
 * descriptor in flight in a socket, a writable shared mapping (both hold the file open). It costs a
 * fork of the agent (measured: see README, The allowlist); shell scripts read private copies
 * instead and skip it.
 */
import {spawnSync, type SpawnSyncOptions} from 'node:child_process';

/** Longer than MAX_ARG_STRLEN (32 pages) for every page size of x86-64 and arm64: exec always refuses it. */
const oversized = 'x'.repeat((2 * 1024 * 1024) + 1);

/** Undefined when no process holds the file behind `fd` (any descriptor, O_PATH will do) open for writing; else why it cannot run. */
export function writerProblem(fd: number, shown: string): string | undefined {
	const probe = spawnSync(`/proc/self/fd/${fd}`, [oversized], probeOptions());
	const error: NodeJS.ErrnoException | undefined = probe.error;
	const code = error?.code;
	if (code === 'E2BIG') {
		return undefined;
	}

	if (code === 'ETXTBSY') {
		return `${shown} is open for writing by another process (ETXTBSY), and its interpreter reads it only after the start, so what runs could differ from what was checked; close it (fuser -v ${shown} names the process), then run again`;
	}

	return `whether ${shown} is open for writing cannot be checked (an exec of it ${code === undefined ? 'ran' : `failed with ${code}`}: the agent's user must be able to execute it, and it must not be on a noexec mount); nothing ran`;
}

/** Every option node reads, own properties of a null-prototype object, as run-script.ts does: nothing from a polluted prototype. */
function probeOptions(): SpawnSyncOptions {
	return Object.assign(Object.create(null) as SpawnSyncOptions, {
		shell: false,
		stdio: 'ignore',
		env: Object.create(null) as Record<string, string>,
		cwd: '/',
		argv0: undefined,
		uid: undefined,
		gid: undefined,
		input: undefined,
		encoding: 'buffer',
		maxBuffer: 0,
		windowsHide: true,
		windowsVerbatimArguments: false,
		// A safety net: the exec cannot succeed, but nothing this starts may outlive a second.
		timeout: 1000,
		killSignal: 'SIGKILL',
	} satisfies SpawnSyncOptions);
}
