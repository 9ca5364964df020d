/**
 * What a file the walk opened (walk-path.ts) holds, read through its own descriptor: the file is
 * reopened for reading from `/proc/self/fd/N` (the same inode, checked) and never by name. An
 * ELF executable is read as far as its header only; a `#!` script whole, with its SHA-256, since
 * those bytes are what runs (sealed-copy.ts): the interpreter later reads a private copy of
 * them, not the file.
 */
import {closeSync, constants, fstatSync, openSync, readSync, type BigIntStats} from 'node:fs';
import {createHash} from 'node:crypto';
import {headerBytes} from './shebang.js';

/** The largest script the agent runs: each run holds its bytes in memory and in a private copy. */
export const maxScriptBytes = 16 * 1024 * 1024;

export type FileContent = {
	/** The first bytes (up to headerBytes), for readHeader. */
	header: Uint8Array;
	/** The whole file, when it is a `#!` script. */
	bytes?: Uint8Array;
	sha256?: string;
};

/** The file's header, and when it starts with `#!` all of it and its SHA-256; or why it cannot be read. */
export function readContent(fd: number, stats: BigIntStats, shown: string): FileContent | string {
	let reader: number;
	try {
		reader = openSync(`/proc/self/fd/${fd}`, constants.O_RDONLY | constants.O_NONBLOCK);
	} catch (error) {
		return `${shown} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
	}

	try {
		const again = fstatSync(reader, {bigint: true});
		if (again.dev !== stats.dev || again.ino !== stats.ino) {
			return `${shown} changed while it was read`;
		}

		const header = readUpTo(reader, headerBytes);
		if (header[0] !== 0x23 || header[1] !== 0x21) {
			return {header};
		}

		const bytes = readUpTo(reader, maxScriptBytes + 1);
		if (bytes.length > maxScriptBytes) {
			return `${shown} is larger than ${maxScriptBytes / 1024 / 1024} MiB, the most the agent copies to run a #! script`;
		}

		return {header: bytes.subarray(0, headerBytes), bytes, sha256: createHash('sha256').update(bytes).digest('hex')};
	} catch (error) {
		return `${shown} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
	} finally {
		closeSync(reader);
	}
}

/** Up to `limit` bytes from the start of the file: fewer only at its end. */
function readUpTo(fd: number, limit: number): Uint8Array {
	const chunks: Buffer[] = [];
	let total = 0;
	while (total < limit) {
		const chunk = Buffer.allocUnsafe(Math.min(limit - total, 64 * 1024));
		const length = readSync(fd, chunk, 0, chunk.length, total);
		if (length === 0) {
			break;
		}

		chunks.push(chunk.subarray(0, length));
		total += length;
	}

	return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}
