/**
 * A file's lines, read a block at a time (64 KiB) rather than whole: a run's history file holds
 * every host's output, and a reader that keeps only what it needs of each line (a capped fold,
 * run-record.ts) then holds no more than that plus one block and one line. UTF-8 is decoded across
 * block boundaries; empty lines are skipped, as the history's readers always did.
 */
import {closeSync, openSync, readSync} from 'node:fs';
import {StringDecoder} from 'node:string_decoder';

const blockBytes = 65_536;

export function * readLines(path: string): Generator<string, void, undefined> {
	const descriptor = openSync(path, 'r');
	try {
		const decoder = new StringDecoder('utf8');
		const block = Buffer.allocUnsafe(blockBytes);
		let pending = '';
		for (let read = readSync(descriptor, block); read > 0; read = readSync(descriptor, block)) {
			const lines = (pending + decoder.write(block.subarray(0, read))).split('\n');
			pending = lines.pop()!;
			yield * lines.filter(line => line.length > 0);
		}

		const last = pending + decoder.end();
		if (last.length > 0) {
			yield last;
		}
	} finally {
		closeSync(descriptor);
	}
}
