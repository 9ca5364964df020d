/**
 * The audit head kept in a second place: with each checkpoint the writer records, in a small file
 * outside the audit directory, the checkpoint record's sequence number and hash ("the log held
 * record N, with this hash, at this time"). A hash chain cannot show its own tail was cut off, or
 * that the whole file was emptied or deleted; compared with the anchor it can. `checkAnchor`
 * compares (pure); the file is read and written by the shell (anchor-file.ts).
 *
 * Whoever can rewrite the log can rewrite the anchor too: it catches a cut, an emptying or a
 * deletion made without it (log rotation gone wrong, a disk tool, a careless or hasty intruder);
 * the controller's witnessed heads (`audit verify --cross`) catch the rest.
 */
import type {AuditRecord} from './record.js';

export type Anchor = {version: 1; log: string; seq: number; hash: string; at: string};

export type AnchorVerdict =
	| {ok: true; text: string}
	| {ok: false; problem: 'log deleted' | 'log emptied' | 'log truncated' | 'log rewritten' | 'not anchored' | 'anchor unreadable'; text: string};

export function anchorOf(record: AuditRecord): Anchor {
	return {version: 1, log: record.log, seq: record.seq, hash: record.hash, at: record.ts};
}

/** The anchor a file holds, or why it is not one. */
export function parseAnchor(value: unknown): Anchor | string {
	const anchor = value as Partial<Anchor> | null;
	if (anchor === null || typeof anchor !== 'object' || anchor.version !== 1 || typeof anchor.log !== 'string' || !Number.isSafeInteger(anchor.seq) || (anchor.seq ?? -1) < 0 || typeof anchor.hash !== 'string' || !/^[\da-f]{64}$/.test(anchor.hash) || typeof anchor.at !== 'string') {
		return 'it is not {"version": 1, "log", "seq", "hash", "at"}';
	}

	return anchor as Anchor;
}

/**
 * The log (its records, oldest first; `exists`: whether its current file is there at all) against
 * its anchor (undefined: no anchor file; a string: why the file is not an anchor). `note`, what
 * the reader of the file noticed (a slot that does not verify), is added to a verdict that holds.
 */
export function checkAnchor(log: {exists: boolean; records: readonly AuditRecord[]}, anchor: Anchor | string | undefined, anchorName: string, note?: string): AnchorVerdict {
	if (typeof anchor === 'string') {
		return {ok: false, problem: 'anchor unreadable', text: `${anchorName} cannot be read as an anchor (${anchor})`};
	}

	const said = anchor ? `${anchorName} says record ${anchor.seq} (hash ${anchor.hash.slice(0, 12)}…) was written at ${anchor.at}` : '';
	if (!log.exists && log.records.length === 0) {
		return anchor
			? {ok: false, problem: 'log deleted', text: `the log is missing, but ${said}: it was deleted`}
			: {ok: false, problem: 'not anchored', text: `there is no log and no ${anchorName}: nothing is anchored (if this agent ever started, both were deleted)`};
	}

	if (log.records.length === 0) {
		return anchor
			? {ok: false, problem: 'log emptied', text: `the log has no records, but ${said}: it was emptied`}
			: {ok: false, problem: 'not anchored', text: `the log has no records and there is no ${anchorName}: nothing is anchored (if this agent ever started, its log was emptied and the anchor deleted)`};
	}

	if (!anchor) {
		return {ok: true, text: `not anchored: no ${anchorName} (written at each checkpoint; only the controller's witnessed heads anchor this log's tail)`};
	}

	const last = log.records.at(-1)!;
	const record = log.records.find(candidate => candidate.log === anchor.log && candidate.seq === anchor.seq);
	if (!record) {
		return last.log === anchor.log && last.seq < anchor.seq
			? {ok: false, problem: 'log truncated', text: `the log ends at record ${last.seq}, but ${said}: ${anchor.seq > last.seq + 1 ? `records ${last.seq + 1}–${anchor.seq}` : `record ${anchor.seq}`} at least ${anchor.seq > last.seq + 1 ? 'were' : 'was'} cut off`}
			: {ok: false, problem: 'log rewritten', text: `the log has no record ${anchor.seq} of log ${anchor.log}, but ${said}: it was replaced`};
	}

	if (record.hash !== anchor.hash) {
		return {ok: false, problem: 'log rewritten', text: `record ${anchor.seq} has hash ${record.hash.slice(0, 12)}…, but ${said}: it was rewritten`};
	}

	return {ok: true, text: `anchored at record ${anchor.seq} (${anchorName}, ${anchor.at})${note ? `; ${note}` : ''}`};
}
