/**
 * Verifies one audit log, line by line, and names the first broken record: its line number and
 * what is wrong (not JSON, not canonical, edited, chain broken, missing, reordered, duplicated,
 * bad checkpoint signature). An intact chain whose tail is not yet sealed by a checkpoint, whose
 * last line was cut short, or with a cut line the writer recorded after it (log.torn), verifies
 * with a warning. Pure.
 */
import {safeJsonParse} from '../protocol/safe-json.js';
import {checkpointPayload, type CheckpointVerifier} from './checkpoint.js';
import {canonical, genesisHash, recordHash, tornLineHash, type AuditRecord} from './record.js';

export type Problem = 'not JSON' | 'not canonical' | 'edited' | 'chain broken' | 'missing' | 'reordered' | 'duplicated' | 'bad checkpoint signature' | 'wrong log' | 'bad carry-over' | 'missing file' | 'files reordered';

export type Verdict =
	| {ok: true; records: number; lastCheckpoint: number | undefined; head: {seq: number; hash: string} | undefined; warnings: string[]; checkpoints: Array<{seq: number; hash: string}>}
	| {ok: false; line: number; problem: Problem; detail: string; records: number};

export type VerifyOptions = {
	verifier?: CheckpointVerifier;
	/** When the log continues an earlier file: the head it must start from. */
	start?: {seq: number; hash: string};
};

/** What the walk down the log has seen so far. */
type Walk = {
	expectedSeq: number;
	previousHash: string;
	log: string | undefined;
	lastCheckpoint: number | undefined;
	records: number;
	warnings: string[];
	checkpoints: Array<{seq: number; hash: string}>;
	/** Each record's hash by seq, to tell a duplicate from a record out of place. */
	seen: Map<number, string>;
};

type Finding = {problem: Problem; detail: string};

export function verifyLog(lines: readonly string[], options: VerifyOptions = {}): Verdict {
	const walk: Walk = {
		expectedSeq: options.start ? options.start.seq + 1 : 0,
		previousHash: options.start?.hash ?? genesisHash,
		log: undefined,
		lastCheckpoint: undefined,
		records: 0,
		warnings: [],
		checkpoints: [],
		seen: new Map(),
	};
	const lastIndex = findLastIndex(lines, line => line.length > 0);
	for (const [index, line] of lines.entries()) {
		if (line.length === 0 && index > lastIndex) {
			continue;
		}

		const parsed = safeJsonParse(line, 32);
		const found = !parsed.ok || typeof parsed.value !== 'object' || parsed.value === null || Array.isArray(parsed.value)
			? unreadableLine(lines, index, lastIndex, walk)
			: recordFinding(parsed.value as AuditRecord, lines, index, walk, options.verifier);
		if (found === 'last') {
			break;
		}

		if (found !== undefined) {
			return {ok: false, line: index + 1, ...found, records: walk.records};
		}
	}

	const {records, expectedSeq, lastCheckpoint, previousHash, warnings, checkpoints} = walk;
	if (records > 0 && lastCheckpoint !== expectedSeq - 1) {
		const unsealed = expectedSeq - 1 - (lastCheckpoint ?? -1);
		warnings.push(`${unsealed} record(s) after the last checkpoint are not sealed yet`);
	}

	return {ok: true, records, lastCheckpoint, head: records > 0 ? {seq: expectedSeq - 1, hash: previousHash} : undefined, warnings, checkpoints};
}

/**
 * A line that is not a JSON object: a torn last line, or a cut write the writer recorded after it
 * (log.torn), is a warning (`last`: nothing follows); anything else is a line someone added.
 */
function unreadableLine(lines: readonly string[], index: number, lastIndex: number, walk: Walk): Finding | 'last' | undefined {
	const line = lines[index]!;
	const number = index + 1;
	if (index === lastIndex) {
		walk.warnings.push(`line ${number}: torn last record (a write cut short: a crash, a full disk or a file size limit; its caller was refused); the chain before it is intact`);
		return 'last';
	}

	// Only a cut the writer itself recorded (log.torn, with the line's length and hash) is a cut write; anything else is a line someone added.
	const next = safeJsonParse(lines[index + 1] ?? '', 32);
	const nextRecord = next.ok ? (next.value as Partial<AuditRecord> & {bytes?: unknown; sha256?: unknown}) : undefined;
	if (nextRecord?.seq !== walk.expectedSeq || nextRecord.prev !== walk.previousHash) {
		return {problem: 'not JSON', detail: 'the line is not a JSON object'};
	}

	if (nextRecord.event === 'log.torn' && nextRecord.bytes === Buffer.byteLength(line) && nextRecord.sha256 === tornLineHash(line)) {
		walk.warnings.push(`line ${number}: a write cut short (a crash, a full disk or a file size limit; its caller was refused), recorded by the writer in record ${walk.expectedSeq}; the chain continues after it`);
		return undefined;
	}

	return {problem: 'not JSON', detail: 'the line is not a JSON object, and no log.torn record after it says the writer cut it short: it was added'};
}

/** A record checked in order (canonical, hash, log, place in the chain, its own kind's fields) and, when sound, added to the walk. */
function recordFinding(record: AuditRecord, lines: readonly string[], index: number, walk: Walk, verifier: CheckpointVerifier | undefined): Finding | undefined {
	if (canonical(record) !== lines[index]) {
		return {problem: 'not canonical', detail: 'the line is not the canonical form of its record (key order, spacing, number spelling or a duplicate key)'};
	}

	const {hash, ...withoutHash} = record;
	if (typeof hash !== 'string' || recordHash(withoutHash) !== hash) {
		return {problem: 'edited', detail: `record ${String(record.seq)}'s hash does not match its content`};
	}

	walk.log ??= record.log;
	if (record.log !== walk.log) {
		return {problem: 'wrong log', detail: `record belongs to log ${String(record.log)}, not ${walk.log}`};
	}

	if (typeof record.seq !== 'number' || record.seq !== walk.expectedSeq) {
		return outOfSequence(record, hash, lines.slice(index + 1), walk);
	}

	if (record.prev !== walk.previousHash) {
		return {problem: 'chain broken', detail: `record ${record.seq} does not follow the record before it (prev hash differs)`};
	}

	const problem = record.event === 'checkpoint' ? checkCheckpoint(record, verifier) : undefined;
	if (problem) {
		return {problem: 'bad checkpoint signature', detail: problem};
	}

	const carryOver = record.event === 'log.continued' ? checkCarryOver(record, walk.records) : undefined;
	if (carryOver) {
		return {problem: 'bad carry-over', detail: carryOver};
	}

	if (record.event === 'checkpoint') {
		walk.lastCheckpoint = record.seq;
		walk.checkpoints.push({seq: record.seq, hash: record.hash});
	}

	walk.seen.set(record.seq, hash);
	walk.previousHash = hash;
	walk.expectedSeq++;
	walk.records++;
	return undefined;
}

/** A record whose seq is not the next one: a duplicate, one out of order, or records missing before it. */
function outOfSequence(record: AuditRecord, hash: string, later: readonly string[], walk: Walk): Finding {
	const {expectedSeq} = walk;
	if (walk.seen.get(record.seq) === hash) {
		return {problem: 'duplicated', detail: `record ${record.seq} appears twice`};
	}

	if (typeof record.seq === 'number' && record.seq < expectedSeq) {
		return {problem: 'reordered', detail: `record ${record.seq} comes after record ${expectedSeq - 1}`};
	}

	// The record's own seq, not a substring: a nested witnessed head also has a "seq".
	if (later.some(line => seqOf(line) === expectedSeq)) {
		return {problem: 'reordered', detail: `record ${String(record.seq)} comes before record ${expectedSeq}`};
	}

	return {problem: 'missing', detail: `expected record ${expectedSeq}, found ${String(record.seq)}: ${Number(record.seq) - expectedSeq} record(s) missing`};
}

function checkCheckpoint(record: AuditRecord, verifier: CheckpointVerifier | undefined): string | undefined {
	const {size, head, signature, keyId} = record as AuditRecord & {size?: unknown; head?: unknown; signature?: unknown; keyId?: unknown};
	if (typeof head !== 'string' || typeof signature !== 'string' || typeof keyId !== 'string' || typeof size !== 'number') {
		return 'a checkpoint needs size, head, signature and keyId';
	}

	if (head !== record.prev || size !== record.seq) {
		return `the checkpoint states head ${head.slice(0, 12)}… at size ${size}, but the log has ${record.prev.slice(0, 12)}… at ${record.seq}`;
	}

	if (!verifier) {
		return undefined;
	}

	const payload = checkpointPayload({log: record.log, seq: size, hash: head});
	return verifier.verify(keyId, payload, signature) ? undefined : `the checkpoint signature does not verify with key ${keyId}`;
}

/** A carry-over record opens a file and restates the head it continues: the one its `prev` links to. */
function checkCarryOver(record: AuditRecord, recordsBefore: number): string | undefined {
	const {previousFile, previousHead, previousSize, previousBytes} = record as AuditRecord & {previousFile?: unknown; previousHead?: unknown; previousSize?: unknown; previousBytes?: unknown};
	if (typeof previousFile !== 'string' || typeof previousHead !== 'string' || typeof previousSize !== 'number' || typeof previousBytes !== 'number') {
		return 'a carry-over record needs previousFile, previousHead, previousSize and previousBytes';
	}

	if (recordsBefore > 0) {
		return `record ${record.seq} says a new file starts here, in the middle of a file`;
	}

	if (previousHead !== record.prev || previousSize !== record.seq) {
		return `the carry-over states head ${previousHead.slice(0, 12)}… at size ${previousSize}, but links to ${record.prev.slice(0, 12)}… at ${record.seq}`;
	}

	return undefined;
}

function seqOf(line: string): unknown {
	const parsed = safeJsonParse(line, 32);
	return parsed.ok && typeof parsed.value === 'object' && parsed.value !== null ? (parsed.value as {seq?: unknown}).seq : undefined;
}

function findLastIndex<T>(items: readonly T[], predicate: (item: T) => boolean): number {
	for (let index = items.length - 1; index >= 0; index--) {
		if (predicate(items[index]!)) {
			return index;
		}
	}

	return -1;
}
