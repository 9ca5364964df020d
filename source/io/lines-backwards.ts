/**
 * A file's lines, last first, read in chunks from its end: for logs whose newest records are the
 * ones wanted (an audit log's recent receipts, a request's record), so a long log is not read
 * whole. `visit` says 'stop' to end the read. Empty lines are skipped; a line longer than
 * `maxLineBytes` (a torn or foreign run with no newline) is skipped too, rather than carried and
 * copied again with every chunk. A missing file has no lines; other errors are thrown.
 */
import {closeSync, fstatSync, openSync, readSync} from 'node:fs';

export type LineVisit = (line: string) => 'stop' | undefined;

export function linesBackwards(path: string, visit: LineVisit, options: {chunkBytes?: number; maxLineBytes?: number} = {}): 'stop' | undefined {
	const {chunkBytes = 256 * 1024, maxLineBytes = 1024 * 1024} = options;
	let fd: number;
	try {
		fd = openSync(path, 'r');
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
			return undefined;
		}

		throw error;
	}

	try {
		let end = fstatSync(fd).size;
		// The bytes after the last newline seen, not yet a whole line (the head of the line the next chunk ends).
		let rest = Buffer.alloc(0);
		// Whether `rest` was cut for being too long: its line is skipped when its head is found.
		let tooLong = false;
		while (end > 0) {
			const start = Math.max(0, end - chunkBytes);
			const chunk = Buffer.alloc(end - start);
			readSync(fd, chunk, 0, chunk.length, start);
			const bytes = Buffer.concat([chunk, rest]);
			let lineEnd = bytes.length;
			for (let index = bytes.length - 1; index >= 0; index--) {
				if (bytes[index] === 0x0A) {
					if (index + 1 < lineEnd && !tooLong && visit(bytes.toString('utf8', index + 1, lineEnd)) === 'stop') {
						return 'stop';
					}

					tooLong = false;
					lineEnd = index;
				}
			}

			rest = bytes.subarray(0, lineEnd);
			if (rest.length > maxLineBytes) {
				rest = Buffer.alloc(0);
				tooLong = true;
			}

			end = start;
		}

		return rest.length > 0 && !tooLong ? visit(rest.toString('utf8')) : undefined;
	} finally {
		closeSync(fd);
	}
}
