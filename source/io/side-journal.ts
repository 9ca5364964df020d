/**
 * A journal beside a state file: lines appended without a lock (one write() each, so lines from
 * several processes do not interleave) and without an fsync (what it keeps is a hint: the registry's
 * lastSeen, where a line lost in a power cut leaves an earlier time; it reaches the disk with the
 * kernel's writeback, or with the next locked rewrite of the state file that folds it in), read whole, and moved aside once what it says
 * has been folded into the state file. The moved-aside copy is still read until the next move
 * replaces it, so a line appended just as the journal moves is not lost. Used by the registry for
 * lastSeen (registry/store.ts).
 */
import {existsSync, readFileSync, renameSync, statSync} from 'node:fs';
import {appendDurable} from './durable-fs.js';

export type SideJournal = {
	/** Appends `line` (ending in a newline); not fsynced. */
	append: (line: string) => void;
	/** The moved-aside copy's text, a newline (its last line may be torn), then the journal's. */
	text: () => string;
	/** The journal's size in bytes (0 when absent). */
	size: () => number;
	/** Moves the journal aside (replacing the earlier copy): call once its lines are folded in. */
	moveAside: () => void;
};

export function openSideJournal(path: string, asidePath: string, mode = 0o600): SideJournal {
	return {
		append(line) {
			appendDurable(path, line, {mode, sync: false});
		},
		text: () => `${readIfThere(asidePath)}\n${readIfThere(path)}`,
		size: () => sizeOf(path),
		moveAside() {
			if (existsSync(path)) {
				renameSync(path, asidePath);
			}
		},
	};
}

/** A file's size in bytes, 0 when it does not exist. */
export function sizeOf(path: string): number {
	try {
		return statSync(path).size;
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
			return 0;
		}

		throw error;
	}
}

function readIfThere(path: string): string {
	try {
		return readFileSync(path, 'utf8');
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
			return '';
		}

		throw error;
	}
}
