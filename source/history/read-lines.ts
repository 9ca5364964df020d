/**
 * A file's lines, read a block at a time (64 KiB) rather than whole: a run's history file holds
 * every host's output, and a reader that keeps only what it needs of each line (a capped fold,
 * run-record.ts) then holds no more than that plus one block and one line. UTF-8 is decoded across
 * block boundaries; empty lines are skipped, as the history's readers always did.
 */
import {closeSync, openSync, readSync} from 'node:fs';
import {StringDecoder} from 'node:string_decoder';

const blockBytes = 65_536;

/**
 * Reads on from where it stopped, so a file still being appended to (a live run's history) can be
 * followed: `next()` is the next whole line, or undefined at the end written so far (call it again
 * later for what was appended since); `rest()` is what follows the last newline once the file is
 * complete (a torn last line), or undefined.
 */
export type LineReader = {next: () => string | undefined; rest: () => string | undefined; close: () => void};

export function openLineReader(path: string): LineReader {
	const descriptor = openSync(path, 'r');
	const decoder = new StringDecoder('utf8');
	const block = Buffer.allocUnsafe(blockBytes);
	let lines: string[] = [];
	let index = 0;
	let pending = '';
	let closed = false;
	return {
		next() {
			for (;;) {
				while (index < lines.length) {
					const line = lines[index++]!;
					if (line.length > 0) {
						return line;
					}
				}

				const read = closed ? 0 : readSync(descriptor, block);
				if (read === 0) {
					return undefined;
				}

				lines = (pending + decoder.write(block.subarray(0, read))).split('\n');
				pending = lines.pop()!;
				index = 0;
			}
		},
		rest() {
			const last = pending + decoder.end();
			pending = '';
			return last.length > 0 ? last : undefined;
		},
		close() {
			if (!closed) {
				closed = true;
				closeSync(descriptor);
			}
		},
	};
}

export function * readLines(path: string): Generator<string, void, undefined> {
	const reader = openLineReader(path);
	try {
		for (let line = reader.next(); line !== undefined; line = reader.next()) {
			yield line;
		}

		const last = reader.rest();
		if (last !== undefined) {
			yield last;
		}
	} finally {
		reader.close();
	}
}
