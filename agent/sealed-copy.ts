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
 * native-free package offers them; an addon is a build on every target. Why a copy for shells
 * rather than refusing a file that any process holds open for writing, as the agent does for every
 * other reader (writer-check.ts): asking the kernel costs a fork (24 ms per run under this host's
 * load when measured, against about 0.1 ms for this copy; a shell script's whole run: 37 ms), and
 * a copy lets the script run even then. A /proc/PID/fd scan took 42 ms per run (123 processes,
 * 809 descriptors) and misses descriptors in flight and writable shared mappings.
 */
import {closeSync, constants, fchmodSync, fchownSync, fstatSync, openSync, readSync, writeSync} from 'node:fs';
import {createHash} from 'node:crypto';
import {tmpdir} from 'node:os';
import {oPath} from './walk-path.js';

/**
 * The interpreters that get a private copy of the script they read: shells read a script as they
 * run it (a write to it mid-run changes what they do next), only through the path they are given
 * (`$0` is /proc/self/fd/N with or without a copy), and never look anything up beside it.
 */
export const copyingShells: ReadonlySet<string> = new Set(['sh', 'dash', 'bash', 'ash', 'ksh', 'mksh', 'zsh', 'busybox']);

/**
 * How each script of a chain (outermost first) reaches what reads it, given the base name of the
 * ELF executable at the chain's end. Only the innermost script is read by that executable (the
 * kernel's argument order, shebang.ts execPlan); each outer one is handed, as an argument, to the
 * code of the script inside it, which may give it to anything. So:
 *
 * - `copy`: the innermost script when the executable is a shell.
 * - `file`: every other script, read from the file the walk checked, once no process holds it
 *   open for writing (writer-check.ts). Not a copy, because Node, Python, Perl and Ruby find their
 *   script's own directory from its path (Node's realpath, Python's sys.path[0], Perl's FindBin,
 *   Ruby's require_relative): through an unnamed copy in /dev/shm, Python would import modules
 *   from /dev/shm, a directory every user can write. Pure.
 */
export function scriptSources(scriptCount: number, executableName: string): Array<'copy' | 'file'> {
	return Array.from({length: scriptCount}, (_, index) => (index === scriptCount - 1 && copyingShells.has(executableName) ? 'copy' : 'file'));
}

/** A script of a chain as the walk opened and read it (open-executable.ts). */
export type ChainScript = {fd: number; bytes: Uint8Array; sha256: string; owner: CopyOwner; path: string};

/**
 * What the child is handed for each script (scriptSources): a private copy, or the checked file
 * itself. `copies` are the caller's to close, with the chain's own descriptors; `fromFile[i]` says
 * script i is read from its file, which the caller runs only once no process holds it open for
 * writing (asked just before the start: writer-check.ts) and checks again after the start. On a
 * refusal nothing is left open.
 */
export function sealScripts(scripts: readonly ChainScript[], executableName: string): {descriptors: number[]; copies: number[]; fromFile: boolean[]} | string {
	const sources = scriptSources(scripts.length, executableName);
	const descriptors: number[] = [];
	const copies: number[] = [];
	for (const [index, script] of scripts.entries()) {
		const sealed = sources[index] === 'copy' ? sealedCopy(script.bytes, script.sha256, script.owner, script.path) : script.fd;
		if (typeof sealed === 'string') {
			for (const copy of copies) {
				closeSync(copy);
			}

			return sealed;
		}

		descriptors.push(sealed);
		if (sources[index] === 'copy') {
			copies.push(sealed);
		}
	}

	return {descriptors, copies, fromFile: sources.map(source => source === 'file')};
}

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
