/**
 * Audit records: one JSON object per line, and the line is exactly the record's canonical form
 * (RFC 8785: sorted keys, no spaces, one spelling of each number), so two tools can never read
 * different values from one line. Each record carries the hash of the one before it (`prev`) and
 * its own (`hash`, SHA-256 over the canonical record without `hash`, with a domain prefix). Pure.
 */
import {createHash} from 'node:crypto';
import {canonicalJson} from '../protocol/canonical-json.js';

export const auditFormat = 1;
export const genesisHash = '0'.repeat(64);

export type AuditSide = 'controller' | 'agent';

/** What a caller records; the chain fields are added by `chainRecord`. */
export type AuditFields = Record<string, unknown> & {event: string};

export type AuditRecord = AuditFields & {
	v: typeof auditFormat;
	log: string;
	seq: number;
	ts: string;
	side: AuditSide;
	prev: string;
	hash: string;
};

export type ChainHead = {log: string; seq: number; hash: string};

export function canonical(value: unknown): string {
	const text = canonicalJson(value);
	if (text === undefined) {
		throw new TypeError('value cannot be canonicalised');
	}

	return text;
}

const recordHashPrefix = 'xi-exec audit record v1\n';

export function recordHash(withoutHash: Omit<AuditRecord, 'hash'>): string {
	return createHash('sha256').update(recordHashPrefix).update(canonical(withoutHash)).digest('hex');
}

/**
 * The next record after `head` (undefined for the first record of a log). Fields cannot override
 * the chain fields; undefined values are dropped (canonical JSON has no undefined).
 */
export function chainRecord(head: ChainHead | undefined, context: {log: string; side: AuditSide; now: Date}, fields: AuditFields): AuditRecord {
	const withoutHash = unhashed(head, context, fields);
	return {...withoutHash, hash: recordHash(withoutHash)} as AuditRecord;
}

/**
 * `chainRecord` and its line (`recordLine`), the record canonicalised once: its members are
 * written as two objects, those whose keys sort before `hash` and those after (canonical JSON
 * sorts keys by UTF-16 code units, so the record's text is the two joined, with `hash` between
 * them once it is known). The same record and the same bytes as the two calls.
 */
export function chainRecordLine(head: ChainHead | undefined, context: {log: string; side: AuditSide; now: Date}, fields: AuditFields): {record: AuditRecord; line: string} {
	const withoutHash = unhashed(head, context, fields);
	if (Object.hasOwn(withoutHash, 'hash')) {
		// A field named `hash` is hashed, then replaced by the record's own: the plain way.
		const record = {...withoutHash, hash: recordHash(withoutHash)} as AuditRecord;
		return {record, line: recordLine(record)};
	}

	// Plain objects, not null-prototype ones (which V8 keeps as dictionaries, ~1 KB each per record):
	// unhashed assigns its keys, so none is `__proto__` (it would set the prototype, not be copied).
	const before: Record<string, unknown> = {};
	const after: Record<string, unknown> = {};
	for (const key of Object.keys(withoutHash)) {
		(key < 'hash' ? before : after)[key] = (withoutHash as Record<string, unknown>)[key];
	}

	const members = (part: Record<string, unknown>) => canonical(part).slice(1, -1);
	const first = members(before);
	const last = members(after);
	const hash = createHash('sha256').update(recordHashPrefix).update(`{${first}${first && last ? ',' : ''}${last}}`).digest('hex');
	return {record: {...withoutHash, hash} as AuditRecord, line: `{${first}${first ? ',' : ''}"hash":"${hash}"${last ? ',' : ''}${last}}\n`};
}

/** The record before its hash: the fields without undefined values (canonical JSON has none), then the chain fields, which fields cannot override. */
function unhashed(head: ChainHead | undefined, context: {log: string; side: AuditSide; now: Date}, fields: AuditFields): Omit<AuditRecord, 'hash'> {
	const clean: Record<string, unknown> = {};
	// Object.keys, not Object.entries: no [key, value] array per field (the same keys, read in the same order).
	for (const key of Object.keys(fields)) {
		const value = fields[key];
		if (value !== undefined) {
			clean[key] = value;
		}
	}

	return {
		...clean,
		event: fields.event,
		v: auditFormat,
		log: context.log,
		seq: head ? head.seq + 1 : 0,
		ts: context.now.toISOString(),
		side: context.side,
		prev: head ? head.hash : genesisHash,
	};
}

export function recordLine(record: AuditRecord): string {
	return canonical(record) + '\n';
}

export function headOf(record: AuditRecord): ChainHead {
	return {log: record.log, seq: record.seq, hash: record.hash};
}

/** SHA-256 of arguments, for records that must not carry them in clear (or that are large). */
export function argsHash(args: readonly string[]): string {
	return createHash('sha256').update('xi-exec args v1\n').update(canonical(args)).digest('hex');
}

/** The records of the lines that parse as JSON; torn or foreign lines are verify's business. */
export function parseRecords(lines: readonly string[]): AuditRecord[] {
	const records: AuditRecord[] = [];
	for (const line of lines) {
		try {
			records.push(JSON.parse(line) as AuditRecord);
		} catch {
			// Skipped here; `verifyLog` reports them.
		}
	}

	return records;
}

/**
 * The record a writer appends after finding the file's last line cut short (a full disk, a file
 * size limit or a crash mid-write): the cut line's length and hash, so verify can tell a write
 * the writer knows failed (its caller was refused) from a line someone added.
 */
export function tornRecordFields(line: string): AuditFields {
	return {event: 'log.torn', bytes: Buffer.byteLength(line), sha256: tornLineHash(line)};
}

export function tornLineHash(line: string): string {
	return createHash('sha256').update(line).digest('hex');
}
