/**
 * The replay guard's memory on disk (`seen-requests` in the agent's home, 0600): one line per
 * accepted message other than a run, `SEEN_AT_MS MESSAGE_ID`, appended and fdatasync'd before the
 * message is acted on, so a frame replayed after a restart (or a crash) is still refused. A run's
 * id is on the disk in its audit receipt instead (replay-receipts.ts, read back at load). The file is held open
 * between appends; the fdatasync stays synchronous (on the thread pool it cost more CPU: 413
 * against 168 µs per append, measured). Bounded: when the file holds twice the ids still
 * remembered (and at least `compactAfter` lines), it is rewritten with only those (temp file,
 * fsync, rename), so it never holds more than about two freshness windows. A torn last line (a
 * crash mid-append) is skipped when read; a short write (a full disk) is cut off again at once, so
 * the next id appended does not land on the torn line and become unreadable after a restart.
 */
import {closeSync, fdatasyncSync, fstatSync, ftruncateSync, openSync, readFileSync, writeSync} from 'node:fs';
import {join} from 'node:path';
import {writeFileAtomic} from '../source/io/files.js';
import type {ReplayGuard, ReplayMemory} from './replay-guard.js';
import {runReceiptsSince} from './replay-receipts.js';

export const seenRequestsFile = 'seen-requests';
/** The relay's seen-set (request id, sequence, nonce), beside the direct-TLS one. */
export const seenRelayRequestsFile = 'seen-relay-requests';

export type ReplayFile = ReplayMemory & {
	/** The ids the file holds (oldest first; unparsable lines skipped). */
	read: () => Array<[string, number]>;
	/** Rewrites the file with these ids only. */
	rewrite: (entries: ReadonlyArray<readonly [string, number]>) => void;
};

/** `write`: node's writeSync, or a test's that writes short. */
export function openReplayFile(path: string, write: (fd: number, text: string) => number = writeSync): ReplayFile {
	const line = (id: string, seenAt: number) => `${seenAt} ${id}\n`;
	// Held open between appends (an open and a close per request cost more than the write), with
	// the file's size as this process appended to it; opened again after a rewrite (a new file
	// under the name) or a failed append.
	let held: {fd: number; size: number} | undefined;
	const release = () => {
		if (held !== undefined) {
			closeSync(held.fd);
			held = undefined;
		}
	};

	return {
		remember(id, seenAt) {
			try {
				if (held === undefined) {
					const fd = openSync(path, 'a', 0o600);
					held = {fd, size: fstatSync(fd).size};
				}

				const text = line(id, seenAt);
				const bytes = Buffer.byteLength(text);
				if (write(held.fd, text) !== bytes) {
					ftruncateSync(held.fd, held.size);
					throw new Error('a short write');
				}

				fdatasyncSync(held.fd);
				held.size += bytes;
			} catch (error) {
				release();
				throw error;
			}
		},
		read() {
			let text: string;
			try {
				text = readFileSync(path, 'utf8');
			} catch (error) {
				if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
					return [];
				}

				throw error;
			}

			const entries: Array<[string, number]> = [];
			for (const each of text.split('\n')) {
				const match = /^(\d{1,15}) (\S{1,200})$/.exec(each);
				if (match) {
					entries.push([match[2]!, Number(match[1])]);
				}
			}

			return entries;
		},
		rewrite(entries) {
			release();
			writeFileAtomic(path, entries.map(([id, seenAt]) => line(id, seenAt)).join(''), 0o600);
		},
	};
}

/**
 * The guard's memory for an agent home: loads what the file remembers into `guard` (pruned to
 * the ids still within the window) and appends every id accepted from now on, compacting as it goes.
 * `auditLog`: the log whose run receipts carry the ids of run frames (replay-receipts.ts), loaded too.
 */
export function replayMemoryFor(home: string, now: () => number, compactAfter = 10_000, fileName = seenRequestsFile, auditLog?: string): {memory: ReplayMemory; load: (guard: ReplayGuard) => void} {
	const file = openReplayFile(join(home, fileName));
	let guard: ReplayGuard | undefined;
	let lines = 0;
	return {
		load(target) {
			guard = target;
			const at = now();
			target.restore([...file.read(), ...(auditLog === undefined ? [] : runReceiptsSince(auditLog, at - target.keepMs, target.keepMs))], at);
			const kept = target.entries(at);
			file.rewrite(kept);
			lines = kept.length;
		},
		memory: {
			remember(id, seenAt) {
				file.remember(id, seenAt);
				lines++;
				if (guard && lines >= compactAfter) {
					const kept = [...guard.entries(seenAt), [id, seenAt] as [string, number]];
					if (lines >= 2 * kept.length) {
						file.rewrite(kept);
						lines = kept.length;
					}
				}
			},
		},
	};
}
