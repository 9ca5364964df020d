/**
 * The audit log on disk: appends are queued in the process and written in batches, one write()
 * per batch to a file opened O_APPEND with mode 0600, under a cross-process lock (proper-lockfile;
 * a lock costs ~12 ms here, so batches share one, and the agent daemon holds it for its life), so
 * lines never interleave and the chain is continued from the file's real tail. A signed checkpoint is written every `checkpointEvery` records, every
 * `checkpointIntervalMs`, and at close. When a record cannot be written the caller gets an
 * error and must refuse to act (fail closed).
 *
 * Rotation by size: once the file holds `rotateBytes`, the next batch seals it with a checkpoint,
 * renames it to `NAME.N` (log-files.ts) and starts a new file whose first record, `log.continued`,
 * names the previous file, its last hash, its record count and its size in bytes; the chain runs on
 * across files. An empty current file next to rotated ones (a crash between the two steps) starts
 * the same way.
 */
import {randomUUID} from 'node:crypto';
import {closeSync, fstatSync, openSync, readSync, statSync, existsSync} from 'node:fs';
import {basename, dirname} from 'node:path';
import {XiError} from '../errors.js';
import {nodeFs, renameDurable, syncDirectory, writeAll, type DurableFs} from '../io/durable-fs.js';
import {checkpointPayload, type CheckpointSigner} from './checkpoint.js';
import {defaultRotateBytes, nextRotatedFile, rotatedFiles} from './log-files.js';
import {chainRecord, genesisHash, tornRecordFields, headOf, recordLine, type AuditFields, type AuditRecord, type AuditSide, type ChainHead} from './record.js';

export type SignedHead = ChainHead & {signature: string; keyId: string};

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

export function openAuditLog(options: AuditLogOptions): AuditLog {
	const now = options.now ?? (() => new Date());
	const every = options.checkpointEvery ?? 256;
	const rotateBytes = options.rotateBytes ?? defaultRotateBytes;
	const fs = options.fs ?? nodeFs;
	let head: ChainHead | undefined;
	let signed: SignedHead | undefined;
	/**
	 * The file as this log last left it (inode and size): unchanged, the head in memory is its tail.
	 * The inode counts since rotation: another process's new file may reach the very size we knew.
	 */
	let known = '';
	/** Whether the last record in the file is a checkpoint (so rotation need not seal it again). */
	let sealed = false;
	let sinceCheckpoint = 0;
	let heldLock: Promise<() => Promise<void>> | undefined;
	let pending: Pending[] = [];
	let flushing: Promise<void> | undefined;
	let running = false;

	const timer = setInterval(() => {
		if (sinceCheckpoint > 0) {
			void api.checkpoint().catch(() => undefined);
		}
	}, options.checkpointIntervalMs ?? 60_000);
	timer.unref();

	async function lock(): Promise<() => Promise<void>> {
		if (!existsSync(options.path)) {
			closeSync(openSync(options.path, 'a', 0o600));
		}

		try {
			// Loaded by the first write only: reading a log (audit, verify) does not load the lock library.
			const {default: lockfile} = await import('proper-lockfile');
			return await lockfile.lock(options.path, {realpath: false, stale: 10_000, retries: {retries: 200, minTimeout: 5, maxTimeout: 50, randomize: true}});
		} catch (error) {
			throw new XiError('AUDIT_UNAVAILABLE', `Cannot lock the audit log ${options.path}: ${(error as Error).message}.`, {cause: error});
		}
	}

	/**
	 * Writes a batch of records in one write(), continuing the chain from the file's real tail.
	 * Returns each item's record (or why that record alone cannot be written), and every record
	 * written (automatic checkpoints included).
	 */
	function writeBatch(batch: Pending[]): {results: Array<AuditRecord | Error>; written: AuditRecord[]} {
		const before = {head, signed, sinceCheckpoint, sealed};
		// 'a+', not 'a': readTail reads the tail through this descriptor (EBADF on a write-only one).
		let fd = openSync(options.path, 'a+', 0o600);
		const records: Array<AuditRecord | Error> = [];
		const written: AuditRecord[] = [];
		const lines: string[] = [];
		const add = (fields: AuditFields) => {
			const record = chainRecord(head, {log: head?.log ?? randomUUID(), side: options.side, now: now()}, fields);
			head = headOf(record);
			lines.push(recordLine(record));
			written.push(record);
			sealed = record.event === 'checkpoint';
			return record;
		};

		try {
			const stats = fstatSync(fd);
			let {size} = stats;
			let prefix = '';
			if (`${stats.ino}:${size}` !== known) {
				const tail = readTail(fd, size);
				head = tail.head;
				sealed = tail.lastEvent === 'checkpoint';
				prefix = tail.torn ? '\n' : '';
				if (tail.tornLine !== undefined) {
					// A write cut short (a full disk, a file size limit, a crash): said in the chain, so verify can tell it from a line someone added.
					add(tornRecordFields(tail.tornLine));
				}
			}

			if (size >= rotateBytes && head) {
				// Seal the full file, then move it aside; the records of this batch go to a new file.
				if (!sealed) {
					add(checkpointFields(head));
					writeAll(fs, fd, prefix + lines.join(''));
					fs.fsync(fd);
					lines.length = 0;
				}

				closeSync(fd);
				fd = -1;
				renameDurable(options.path, nextRotatedFile(options.path), fs);
				fd = openSync(options.path, 'a+', 0o600);
				size = 0;
				prefix = '';
			}

			if (size === 0) {
				const previous = rotatedFiles(options.path).at(-1);
				head = previous ? continueFrom(previous) : undefined;
			}

			for (const item of batch) {
				if (item.fields === 'checkpoint') {
					records.push(sinceCheckpoint > 0 || !signed ? add(checkpointFields(head)) : written.at(-1) ?? ({...head} as AuditRecord));
					continue;
				}

				try {
					records.push(add(item.fields));
				} catch (error) {
					// Fields canonical JSON refuses (a lone surrogate): this record fails, not the batch.
					records.push(error as Error);
					continue;
				}

				sinceCheckpoint++;
				if (sinceCheckpoint >= every) {
					add(checkpointFields(head));
				}
			}

			// Durable before any caller learns its record was written (and acts on it): one fsync per batch.
			writeAll(fs, fd, prefix + lines.join(''));
			fs.fsync(fd);
			if (size === 0) {
				// A new file: its name must reach the disk too.
				syncDirectory(dirname(options.path), fs);
			}

			const after = fstatSync(fd);
			known = `${after.ino}:${after.size}`;
			return {results: records, written};
		} catch (error) {
			// Nothing of a failed batch counts: the next one re-reads the file's real tail (a torn line included).
			({head, signed, sinceCheckpoint, sealed} = before);
			known = '';
			throw error;
		} finally {
			if (fd >= 0) {
				closeSync(fd);
			}
		}

		/** The head of the newest rotated file, and the carry-over record that continues it here. */
		function continueFrom(previous: string): ChainHead | undefined {
			const previousFd = openSync(previous, 'r');
			try {
				const previousSize = fstatSync(previousFd).size;
				const tail = readTail(previousFd, previousSize);
				if (!tail.head) {
					return undefined;
				}

				head = tail.head;
				add({event: 'log.continued', previousFile: basename(previous), previousHead: tail.head.hash, previousSize: tail.head.seq + 1, previousBytes: previousSize});
				sinceCheckpoint++;
				return head;
			} finally {
				closeSync(previousFd);
			}
		}
	}

	/** A checkpoint over everything before it; remembered as this log's signed head. */
	function checkpointFields(at: ChainHead | undefined): AuditFields {
		const size = at ? at.seq + 1 : 0;
		const hash = at?.hash ?? genesisHash;
		const log = at?.log ?? '';
		const signature = options.signer.sign(checkpointPayload({log, seq: size, hash}));
		signed = {log, seq: size, hash, signature, keyId: options.signer.keyId};
		sinceCheckpoint = 0;
		return {event: 'checkpoint', size, head: hash, signature, keyId: options.signer.keyId};
	}

	async function flush(): Promise<void> {
		while (pending.length > 0) {
			const batch = pending;
			pending = [];
			try {
				const release = heldLock ? undefined : await lock();
				let records: ReturnType<typeof writeBatch>;
				try {
					records = writeBatch(batch);
				} finally {
					await release?.();
				}

				for (const record of records.written) {
					try {
						options.forward?.(record);
					} catch {
						// Forwarding never fails an append: the record is in the file, the source of truth.
					}
				}

				const checkpoint = records.written.findLast(record => record.event === 'checkpoint');
				if (checkpoint) {
					try {
						options.onCheckpoint?.(checkpoint);
					} catch {
						// The anchor only lags: verify compares it with what the log holds.
					}
				}

				for (const [index, item] of batch.entries()) {
					const result = records.results[index]!;
					if (result instanceof Error) {
						item.reject(failure(result));
					} else {
						item.resolve(result);
					}
				}
			} catch (error) {
				for (const item of batch) {
					item.reject(failure(error));
				}
			}
		}
	}

	function failure(error: unknown): XiError {
		return error instanceof XiError ? error : new XiError('AUDIT_UNAVAILABLE', `Cannot write the audit log ${options.path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); refusing to act without a record.`, {cause: error});
	}

	function enqueue(fields: AuditFields | 'checkpoint'): Promise<AuditRecord> {
		return new Promise<AuditRecord>((resolve, reject) => {
			pending.push({fields, resolve, reject});
			if (!running) {
				running = true;
				flushing = drain();
			}
		});
	}

	async function drain(): Promise<void> {
		try {
			await heldLock?.catch(() => undefined);
			await flush();
		} finally {
			running = false;
		}

		// Records queued after the last batch was taken and before `running` was cleared.
		if (pending.length > 0) {
			running = true;
			flushing = drain();
		}
	}

	const api: AuditLog = {
		path: options.path,
		append: async fields => enqueue(fields),
		head: () => head,
		signedHead: () => signed,
		async checkpoint() {
			// Records still queued count too: an append and a checkpoint asked together share one write and one fsync.
			if (sinceCheckpoint > 0 || pending.some(item => item.fields !== 'checkpoint')) {
				await enqueue('checkpoint');
			}
		},
		async hold() {
			heldLock ??= lock();
			await heldLock;
		},
		async close() {
			clearInterval(timer);
			await api.checkpoint();

			await flushing;
			if (heldLock) {
				const release = await heldLock;
				heldLock = undefined;
				await release();
			}
		},
	};
	return api;
}

type Pending = {fields: AuditFields | 'checkpoint'; resolve: (record: AuditRecord) => void; reject: (error: unknown) => void};

/**
 * The last complete record of a log file, and whether the file lacks its final newline (a torn
 * line, or a last record whose newline a crash cut off, which then still counts). Reads 256 KiB
 * back, and further when no whole record is in that window (one record can be larger).
 */
function readTail(fd: number, size: number): {head: ChainHead | undefined; lastEvent?: string; torn: boolean; tornLine?: string} {
	if (size === 0) {
		return {head: undefined, torn: false};
	}

	for (let length = Math.min(size, 256 * 1024); ; length = Math.min(size, length * 4)) {
		const buffer = Buffer.alloc(length);
		readSync(fd, buffer, 0, length, size - length);
		const text = buffer.toString('utf8');
		const torn = !text.endsWith('\n');
		const lines = text.split('\n');
		if (length < size) {
			// The window may start in the middle of a line.
			lines.shift();
		}

		let tornLine: string | undefined;
		for (let index = lines.length - 1; index >= 0; index--) {
			try {
				const record = JSON.parse(lines[index]!) as AuditRecord;
				if (typeof record.seq === 'number' && typeof record.hash === 'string' && typeof record.log === 'string') {
					return {head: headOf(record), lastEvent: record.event, torn, ...(tornLine === undefined ? {} : {tornLine})};
				}
			} catch {
				// A torn or foreign line: look further back.
			}

			if (torn && index === lines.length - 1) {
				tornLine = lines[index];
			}
		}

		if (length === size) {
			return {head: undefined, torn, ...(tornLine === undefined ? {} : {tornLine})};
		}
	}
}

export function auditLogExists(path: string): boolean {
	try {
		return statSync(path).size > 0;
	} catch {
		return false;
	}
}
