/**
 * A private copy of a `#!` script's bytes for one run, so that what its interpreter reads is
 * exactly what the agent hashed when it checked the file (file-content.ts), whatever a process
 * that holds the file open for writing does to it meanwhile (a write, a truncate).
 *
 * The copy is an unnamed file (open(2) with O_TMPFILE, in /dev/shm, else the system's temporary
 * directory): no name exists for anyone to open, rename or replace. It is written through the
 * one writable descriptor there ever is, given the original's owner and mode without its write
 * bits, read back and compared with the hash, and then held only as an O_PATH descriptor once
 * the writable one is closed: nobody holds it open for writing, and reopening it for writing
 * (only through /proc/PID/fd of the agent or of the run) is refused by its mode to anyone but
 * root and its owner — who could change the original anyway.
 *
 * Why not memfd_create(2) with F_SEAL_WRITE: node:fs has neither memfd_create nor fcntl, and no
 * native-free package offers them; an addon is a build on every target. Why not refuse a file
 * that any process holds open for writing: a /proc/PID/fd scan took 42 ms per run here (123
 * processes, 809 descriptors; it misses descriptors in flight and writable shared mappings), and
 * asking the kernel (an exec of the script that fails with ETXTBSY when it is held open for
 * writing, else with E2BIG before anything runs) costs a fork, 24 ms per run under this host's
 * load, against about 0.1 ms for this copy (a shell script's whole run: 37 ms).
 */
import {closeSync, constants, fchmodSync, fchownSync, fstatSync, openSync, readSync, writeSync} from 'node:fs';
import {createHash} from 'node:crypto';
import {tmpdir} from 'node:os';
import {oPath} from './walk-path.js';

/**
 * Linux's O_TMPFILE is __O_TMPFILE | O_DIRECTORY, and O_DIRECTORY differs by architecture: 0o200000
 * on x86-64, 0o40000 on arm64 and arm (arch/arm64/include/uapi/asm/fcntl.h). On arm64 the x86-64
 * value would be __O_TMPFILE | O_DIRECT, which open(2) refuses with EINVAL.
 */
export const tmpfileFlag = (oDirectory: number): number => 0o20_000_000 | oDirectory;

const oTmpfile = tmpfileFlag(constants.O_DIRECTORY);

/** Where copies are made, in order: tmpfs first (no disk write), then the system's temporary directory. */
export const copyDirectories = (): string[] => [...new Set(['/dev/shm', tmpdir()])];

export type CopyOwner = {uid: number; gid: number; mode: number};

/**
 * An O_PATH descriptor on a private, unnamed copy of `bytes` whose SHA-256 is `sha256`, owned and
 * moded as `owner` says (write bits dropped); or why none could be made. The caller closes it.
 */
export function sealedCopy(bytes: Uint8Array, sha256: string, owner: CopyOwner, shown: string, directories = copyDirectories()): number | string {
	const writable = createUnnamed(directories);
	if (typeof writable === 'string') {
		return `no private copy of ${shown} can be made to run (${writable})`;
	}

	let sealed: number | undefined;
	try {
		for (let written = 0; written < bytes.length;) {
			written += writeSync(writable, bytes, written, bytes.length - written, written);
		}

		if (process.geteuid?.() === 0) {
			fchownSync(writable, owner.uid, owner.gid);
		}

		fchmodSync(writable, owner.mode & 0o555);
		sealed = openSync(`/proc/self/fd/${writable}`, oPath);
	} catch (error) {
		return `no private copy of ${shown} can be made to run (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
	} finally {
		closeSync(writable);
	}

	const problem = copyProblem(sealed, bytes.length, sha256);
	if (problem !== undefined) {
		closeSync(sealed);
		return `the private copy of ${shown} ${problem}`;
	}

	return sealed;
}

function createUnnamed(directories: readonly string[]): number | string {
	const codes: string[] = [];
	for (const directory of directories) {
		try {
			return openSync(directory, oTmpfile | constants.O_RDWR, 0o400);
		} catch (error) {
			codes.push(`${directory}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
		}
	}

	return codes.join(', ');
}

/** Reads the copy back through a descriptor of its own: its size and its hash must be the script's. */
function copyProblem(sealed: number, size: number, sha256: string): string | undefined {
	let reader: number;
	try {
		reader = openSync(`/proc/self/fd/${sealed}`, constants.O_RDONLY);
	} catch (error) {
		return `cannot be read back (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
	}

	try {
		const stats = fstatSync(reader);
		const buffer = Buffer.allocUnsafe(size + 1);
		let length = 0;
		for (let read = -1; read !== 0 && length <= size;) {
			read = readSync(reader, buffer, length, buffer.length - length, length);
			length += read;
		}

		const digest = createHash('sha256').update(buffer.subarray(0, length)).digest('hex');
		return stats.size === size && length === size && digest === sha256 ? undefined : 'does not hold the bytes that were checked';
	} finally {
		closeSync(reader);
	}
}
