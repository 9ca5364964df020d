/**
 * The audit log on disk: appends are queued in the process and written in batches, one write()
 * per batch to a file opened O_APPEND with mode 0600, under a cross-process lock (each batch takes
 * io/brief-lock.ts's for its synchronous write; the agent daemon holds the same lock directory for
 * its life, refreshed every 10 s and dated 5 s ahead: holdLock), so lines never interleave and the chain is continued from the
 * file's real tail; then one fsync, off the event loop, before any append of the batch resolves
 * (what is appended meanwhile waits for the next batch). A signed checkpoint is written every
 * `checkpointEvery` records, every `checkpointIntervalMs`, and at close. When a record cannot be
 * written the caller gets an error and must refuse to act (fail closed).
 *
 * Rotation by size: once the file holds `rotateBytes`, the next batch seals it with a checkpoint,
 * renames it to `NAME.N` (log-files.ts) and starts a new file whose first record, `log.continued`,
 * names the previous file, its last hash, its record count and its size in bytes; the chain runs on
 * across files. An empty current file next to rotated ones (a crash between the two steps) starts
 * the same way. What a batch writes is planned in batch-plan.ts and written by batch-file.ts.
 */
import {randomUUID} from 'node:crypto';
import {closeSync, existsSync, openSync, statSync} from 'node:fs';
import {XiError} from '../errors.js';
import {createBatchQueue} from '../io/batch-queue.js';
import {holdLock, lockStaleMs, withBriefLock} from '../io/brief-lock.js';
import {nodeFs, type DurableFs} from '../io/durable-fs.js';
import type {SignedHead} from '../protocol/frames.js';
import {emptyChain, type BatchItem, type RecordPorts} from './batch-plan.js';
import {writeBatchToFile, type BatchWritten, type WriterState} from './batch-file.js';
import type {CheckpointSigner} from './checkpoint.js';
import {defaultRotateBytes} from './log-files.js';
import type {AuditFields, AuditRecord, AuditSide, ChainHead} from './record.js';

export type AuditLog = {
	readonly path: string;
	append: (fields: AuditFields) => Promise<AuditRecord>;
	head: () => ChainHead | undefined;
	/** The latest checkpoint: what the other side records as its witness of this log. */
	signedHead: () => SignedHead | undefined;
	checkpoint: () => Promise<void>;
	/** Takes the file lock for the life of this log (the agent daemon, its only writer). */
	hold: () => Promise<void>;
	close: () => Promise<void>;
};

export type AuditLogOptions = {
	path: string;
	side: AuditSide;
	signer: CheckpointSigner;
	now?: () => Date;
	checkpointEvery?: number;
	checkpointIntervalMs?: number;
	/** The size in bytes at which the file rotates (default 64 MiB). */
	rotateBytes?: number;
	/** Writes, fsyncs and renames go through this port (a test records their order). */
	fs?: DurableFs;
	/** Called with each line written (syslog forwarding); must not throw or block. */
	forward?: (record: AuditRecord) => void;
	/**
	 * Called with the last checkpoint of each batch once it is written: the writer keeps it in a
	 * second place (anchor.ts). A failure here fails no append: the log is the source of truth.
	 */
	onCheckpoint?: (checkpoint: AuditRecord) => void;
};

type Release = () => Promise<void>;

export function openAuditLog(options: AuditLogOptions): AuditLog {
	const ports: RecordPorts = {side: options.side, now: options.now ?? (() => new Date()), newLogId: randomUUID, signer: options.signer, checkpointEvery: options.checkpointEvery ?? 256};
	const file = {rotateBytes: options.rotateBytes ?? defaultRotateBytes, fs: options.fs ?? nodeFs, ports};
	let state: WriterState = {chain: emptyChain, known: ''};
	let heldLock: Promise<Release> | undefined;

	async function write(batch: BatchItem[]): Promise<Array<AuditRecord | Error>> {
		// Nothing of a failed batch counts: the next one re-reads the file's real tail (a torn line included).
		const failed = (error: unknown) => {
			state = {...state, known: ''};
			return failure(options.path, error);
		};

		const writeBatch = () => {
			try {
				return writeBatchToFile(options.path, state, batch, file);
			} catch (error) {
				throw failed(error);
			}
		};

		// The lock covers the write; the fsync follows it, off the event loop (batch-file.ts).
		const pending = heldLock ? writeBatch() : await withBriefLock(options.path, writeBatch).catch((error: unknown) => {
			throw (error as NodeJS.ErrnoException).code === 'ELOCKED' ? new XiError('AUDIT_UNAVAILABLE', `Cannot lock the audit log ${options.path}: ${(error as Error).message}.`, {cause: error}) : failure(options.path, error);
		});
		let settled: BatchWritten;
		try {
			settled = await pending.settle();
		} catch (error) {
			throw failed(error);
		}

		state = settled.state;
		deliver(settled.written, options);
		return settled.results.map(result => (result instanceof Error ? failure(options.path, result) : result));
	}

	const queue = createBatchQueue<BatchItem, AuditRecord>(write, async () => heldLock?.catch(() => undefined));
	const timer = setInterval(() => {
		if (state.chain.sinceCheckpoint > 0) {
			void api.checkpoint().catch(() => undefined);
		}
	}, options.checkpointIntervalMs ?? 60_000);
	timer.unref();

	const api: AuditLog = {
		path: options.path,
		append: async fields => queue.push(fields),
		head: () => state.chain.head,
		signedHead: () => state.chain.signed,
		async checkpoint() {
			// Records still queued count too: an append and a checkpoint asked together share one write and one fsync.
			if (state.chain.sinceCheckpoint > 0 || queue.queued().some(item => item !== 'checkpoint')) {
				await queue.push('checkpoint');
			}
		},
		async hold() {
			heldLock ??= lockLog(options.path);
			await heldLock;
		},
		async close() {
			clearInterval(timer);
			await api.checkpoint();
			await queue.idle();
			if (heldLock) {
				const release = await heldLock;
				heldLock = undefined;
				await release();
			}
		},
	};
	return api;
}

/** The lock a daemon holds for its life (hold()): the same lock directory, refreshed while held (io/brief-lock.ts holdLock). */
async function lockLog(path: string): Promise<Release> {
	if (!existsSync(path)) {
		closeSync(openSync(path, 'a', 0o600));
	}

	try {
		// A daemon killed outright leaves its lock behind, unrefreshed: the next one outwaits it.
		return await holdLock(path);
	} catch (error) {
		throw new XiError('AUDIT_UNAVAILABLE', `Cannot lock the audit log ${path}: ${(error as Error).message}. Another process holding it has refreshed it for the last ${(2 * lockStaleMs) / 1000} s: stop the other daemon using this home, then start this one again.`, {cause: error});
	}
}

/** Hands the records written to the forwarder, and the batch's last checkpoint to the anchor. */
function deliver(written: readonly AuditRecord[], options: AuditLogOptions): void {
	for (const record of written) {
		try {
			options.forward?.(record);
		} catch {
			// Forwarding never fails an append: the record is in the file, the source of truth.
		}
	}

	const checkpoint = written.findLast(record => record.event === 'checkpoint');
	if (checkpoint) {
		try {
			options.onCheckpoint?.(checkpoint);
		} catch {
			// The anchor only lags: verify compares it with what the log holds.
		}
	}
}

function failure(path: string, error: unknown): XiError {
	return error instanceof XiError ? error : new XiError('AUDIT_UNAVAILABLE', `Cannot write the audit log ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); refusing to act without a record.`, {cause: error});
}

export function auditLogExists(path: string): boolean {
	try {
		return statSync(path).size > 0;
	} catch {
		return false;
	}
}
