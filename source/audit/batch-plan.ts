/**
 * What one batch of appends writes, as pure functions over the chain's state (batch-file.ts reads
 * the file and does the writes; file-log.ts queues the appends). A batch is planned in up to
 * three steps, each continuing the plan before it:
 *
 * 1. `planOpen`: the file as found. When it changed since this log last wrote it, the chain
 *    continues from its real tail; a line cut short there is recorded (`log.torn`). A file at its
 *    rotation size is sealed with a checkpoint (unless its last record is one) and is to be moved
 *    aside: the seal is written to it alone.
 * 2. `planCarryOver`: a new (empty) file opens with `log.continued`, naming the newest rotated
 *    file, its last hash, its record count and its size, so the chain runs on across files.
 * 3. `planRecords`: the batch's records, a checkpoint after every `checkpointEvery` of them, and
 *    a checkpoint wherever one was asked. A record canonical JSON refuses fails alone.
 *
 * The state is the caller's to keep only once the whole plan is on the disk: a batch that fails
 * to write counts for nothing, and the next one re-reads the file's tail.
 */
import type {SignedHead} from '../protocol/frames.js';
import {checkpointPayload, type CheckpointSigner} from './checkpoint.js';
import {chainRecordLine, genesisHash, headOf, tornRecordFields, type AuditFields, type AuditRecord, type AuditSide, type ChainHead} from './record.js';

export type ChainState = {
	head: ChainHead | undefined;
	/** The latest checkpoint: what the other side records as its witness of this log. */
	signed: SignedHead | undefined;
	/** Records since the last checkpoint. */
	sinceCheckpoint: number;
	/** Whether the last record in the file is a checkpoint (so rotation need not seal it again). */
	sealed: boolean;
};

export const emptyChain: ChainState = {head: undefined, signed: undefined, sinceCheckpoint: 0, sealed: false};

/** What records are made with: the log's side, the clock, a new log's id, the checkpoint key. */
export type RecordPorts = {side: AuditSide; now: () => Date; newLogId: () => string; signer: CheckpointSigner; checkpointEvery: number};

/** The end of a log file as read: its last complete record, and a line cut short after it. */
export type FileTail = {head: ChainHead | undefined; lastEvent?: string; torn: boolean; tornLine?: string};

/** The newest rotated file, as a new file's carry-over names it. */
export type PreviousFile = {name: string; head: ChainHead; bytes: number};

/** A plan so far: the state after it, the text still to write to the current file, every record it made. */
export type BatchPlan = {state: ChainState; text: string; written: AuditRecord[]};

export type BatchItem = AuditFields | 'checkpoint';

/** A plan's builder: records are chained onto a copy of the state given. */
function builder(plan: BatchPlan, ports: RecordPorts) {
	const state = {...plan.state};
	const written = [...plan.written];
	let text = plan.text;
	const add = (fields: AuditFields): AuditRecord => {
		const {record, line} = chainRecordLine(state.head, {log: state.head?.log ?? ports.newLogId(), side: ports.side, now: ports.now()}, fields);
		state.head = headOf(record);
		text += line;
		written.push(record);
		state.sealed = record.event === 'checkpoint';
		return record;
	};

	/** A checkpoint over everything before it; remembered as this log's signed head. */
	const checkpoint = (): AuditRecord => {
		const at = state.head;
		const size = at ? at.seq + 1 : 0;
		const hash = at?.hash ?? genesisHash;
		const log = at?.log ?? '';
		const signature = ports.signer.sign(checkpointPayload({log, seq: size, hash}));
		state.signed = {log, seq: size, hash, signature, keyId: ports.signer.keyId};
		state.sinceCheckpoint = 0;
		return add({event: 'checkpoint', size, head: hash, signature, keyId: ports.signer.keyId});
	};

	return {
		state,
		written,
		add,
		checkpoint,
		prepend(prefix: string) {
			text = prefix + text;
		},
		plan: (): BatchPlan => ({state: {...state}, text, written}),
	};
}

/**
 * The file as found: `tail` when it changed since this log last wrote it (its size or inode), and
 * its size. `rotate`: seal it with `seal` (written alone, when there is anything to seal) and move
 * it aside before the rest of the plan; the plan's text then starts empty.
 */
export function planOpen(state: ChainState, file: {size: number; tail?: FileTail}, rotateBytes: number, ports: RecordPorts): {plan: BatchPlan; rotate: false} | {plan: BatchPlan; rotate: true; seal: string | undefined} {
	const build = builder({state, text: '', written: []}, ports);
	if (file.tail) {
		build.state.head = file.tail.head;
		build.state.sealed = file.tail.lastEvent === 'checkpoint';
		if (file.tail.tornLine !== undefined) {
			// A write cut short (a full disk, a file size limit, a crash): said in the chain, so verify can tell it from a line someone added.
			build.add(tornRecordFields(file.tail.tornLine));
		}

		if (file.tail.torn) {
			build.prepend('\n');
		}
	}

	if (file.size < rotateBytes || !build.state.head) {
		return {plan: build.plan(), rotate: false};
	}

	if (build.state.sealed) {
		return {plan: {...build.plan(), text: ''}, rotate: true, seal: undefined};
	}

	build.checkpoint();
	const sealed = build.plan();
	return {plan: {...sealed, text: ''}, rotate: true, seal: sealed.text};
}

/** A new, empty file: it continues the newest rotated file's chain, or starts a new log when there is none. */
export function planCarryOver(plan: BatchPlan, previous: PreviousFile | undefined, ports: RecordPorts): BatchPlan {
	const build = builder(plan, ports);
	build.state.head = previous?.head;
	if (previous) {
		build.add({event: 'log.continued', previousFile: previous.name, previousHead: previous.head.hash, previousSize: previous.head.seq + 1, previousBytes: previous.bytes});
		build.state.sinceCheckpoint++;
	}

	return build.plan();
}

/** The batch's records in order: each item's record (or why that record alone cannot be written). */
export function planRecords(plan: BatchPlan, batch: readonly BatchItem[], ports: RecordPorts): BatchPlan & {results: Array<AuditRecord | Error>} {
	const build = builder(plan, ports);
	const results: Array<AuditRecord | Error> = [];
	for (const item of batch) {
		if (item === 'checkpoint') {
			const {state} = build;
			results.push(state.sinceCheckpoint > 0 || !state.signed ? build.checkpoint() : build.written.at(-1) ?? ({...state.head} as AuditRecord));
			continue;
		}

		try {
			results.push(build.add(item));
		} catch (error) {
			// Fields canonical JSON refuses (a lone surrogate): this record fails, not the batch.
			results.push(error as Error);
			continue;
		}

		build.state.sinceCheckpoint++;
		if (build.state.sinceCheckpoint >= ports.checkpointEvery) {
			build.checkpoint();
		}
	}

	return {...build.plan(), results};
}
