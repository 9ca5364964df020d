/**
 * The replay guard's memory of runs, read back from the audit log at start. A run frame's message
 * id is written in its receipt (`request.received`, execute-run.ts), which is on the disk before
 * anything acts on the run (audit before action): so a run needs no fdatasync of its own in
 * `seen-requests`, and a run frame replayed after a restart or a crash is still refused, its id
 * read here. A receipt lost with the machine before its fsync was never acted on: a replay of it
 * then runs once, as the first copy never did.
 *
 * Read from the end of the log backwards (the current file, then the files rotated out of it, newest
 * first), up to the first record older than `since` less `marginMs` (records are written in clock
 * order; the margin covers a clock stepped back meanwhile). Torn or foreign lines are skipped.
 */
import {logFileSet} from '../source/audit/log-files.js';
import {linesBackwards} from '../source/io/lines-backwards.js';

/**
 * Records older than the cutoff read in a row before the read stops: one such record alone does
 * not stop it, since a record stamped by a clock that was behind (a start before NTP stepped it, a
 * step back) can follow receipts still within the window in the file.
 */
export const olderInARow = 1024;

/** [message id, ms the receipt was written] of every run receipt from `since` on, newest first. */
export function runReceiptsSince(auditLog: string, since: number, marginMs: number): Array<[string, number]> {
	const found: Array<[string, number]> = [];
	const older = {count: 0};
	for (const file of logFileSet(auditLog).reverse()) {
		if (linesBackwards(file, line => take(line, since - marginMs, found, older)) === 'stop') {
			break;
		}
	}

	return found.filter(([, at]) => at >= since);
}

/** One line of the log: its receipt kept; 'stop' once `olderInARow` records in a row are older than `cutoff`. */
function take(line: string, cutoff: number, found: Array<[string, number]>, older: {count: number}): 'stop' | undefined {
	let record: {event?: unknown; msg?: unknown; ts?: unknown};
	try {
		record = JSON.parse(line) as typeof record;
	} catch {
		return undefined;
	}

	const at = typeof record.ts === 'string' ? Date.parse(record.ts) : Number.NaN;
	if (Number.isNaN(at)) {
		return undefined;
	}

	if (at < cutoff) {
		older.count++;
		return older.count >= olderInARow ? 'stop' : undefined;
	}

	older.count = 0;

	if (record.event === 'request.received' && typeof record.msg === 'string') {
		found.push([record.msg, at]);
	}

	return undefined;
}
