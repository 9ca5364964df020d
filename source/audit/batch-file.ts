/**
 * One batch on the disk: reads what batch-plan.ts needs (the file's tail when it changed, the
 * newest rotated file), does what the plan says — the seal and the rename of a full file, one
 * write() of the batch's text — under the caller's file lock, then (`settle`, after the lock)
 * one fsync of that text on the thread pool and an fsync of the directory for a new file. The
 * state to keep is returned only when all of it succeeded.
 */
import {closeSync, fstatSync, openSync, readSync} from 'node:fs';
import {basename, dirname} from 'node:path';
import {renameDurable, syncDirectory, writeAll, type DurableFs} from '../io/durable-fs.js';
import {planCarryOver, planOpen, planRecords, type BatchItem, type ChainState, type FileTail, type PreviousFile, type RecordPorts} from './batch-plan.js';
import {nextRotatedFile, rotatedFiles} from './log-files.js';
import {headOf, type AuditRecord} from './record.js';

/**
 * The chain's state and the file as this log last left it (`known`: inode and size; unchanged,
 * the head in memory is its tail. The inode counts since rotation: another process's new file may
 * reach the very size we knew).
 */
export type WriterState = {chain: ChainState; known: string};

export type BatchWritten = {state: WriterState; results: Array<AuditRecord | Error>; written: AuditRecord[]};

/** A batch written but not yet on the disk: `settle` makes it durable (see writeBatchToFile). */
export type BatchPending = {settle: () => Promise<BatchWritten>};

/**
 * Writes a batch in one write(), continuing the chain from the file's real tail; the caller holds
 * the file lock for this synchronous call only. `settle` (after the lock is released) fsyncs the
 * batch off the event loop: a process serving many connections is not stalled by the disk (at
 * 1,000 hosts, a controller's synchronous fsync per batch made handshakes miss their 5 s), and what
 * is appended meanwhile goes together in the next batch. Another writer may append after our
 * lines before they are fsynced; its own fsync flushes ours with them, and no caller learns of a
 * record before the fsync that covers it returns. `settle` resolves to each item's record (or why
 * that record alone cannot be written), every record written (automatic checkpoints included) and
 * the state after it. Either step throws when the file cannot be written: nothing of the batch
 * counts then, and the caller keeps its state but forgets `known`.
 */
export function writeBatchToFile(path: string, state: WriterState, batch: readonly BatchItem[], options: {rotateBytes: number; fs: DurableFs; ports: RecordPorts}): BatchPending {
	const {fs, ports} = options;
	// 'a+', not 'a': readTail reads the tail through this descriptor (EBADF on a write-only one).
	let fd = openSync(path, 'a+', 0o600);
	try {
		const stats = fstatSync(fd);
		const changed = `${stats.ino}:${stats.size}` !== state.known;
		const opened = planOpen(state.chain, {size: stats.size, ...(changed ? {tail: readTail(fd, stats.size)} : {})}, options.rotateBytes, ports);
		let {plan} = opened;
		let newFile = stats.size === 0;
		if (opened.rotate) {
			// Seal the full file, then move it aside; the records of this batch go to a new file.
			if (opened.seal !== undefined) {
				writeAll(fs, fd, opened.seal);
				fs.fsync(fd);
			}

			closeSync(fd);
			fd = -1;
			renameDurable(path, nextRotatedFile(path), fs);
			fd = openSync(path, 'a+', 0o600);
			newFile = true;
		}

		if (newFile) {
			plan = planCarryOver(plan, previousFile(path), ports);
		}

		const planned = planRecords(plan, batch, ports);
		writeAll(fs, fd, planned.text);
		// The file as this batch leaves it. Unrotated, it is the one fstat'ed above with the batch's
		// bytes after them (O_APPEND, under the lock; writeAll throws on a short write): no second
		// fstat. Any other writer's line, before or after ours, makes the next batch's fstat differ,
		// and that batch reads the real tail. A new file is fstat'ed (rare).
		const after = opened.rotate ? fstatSync(fd) : {ino: stats.ino, size: stats.size + Buffer.byteLength(planned.text)};
		const written = fd;
		fd = -1;
		return {
			async settle() {
				try {
					// Durable before any caller learns its record was written (and acts on it): one fsync per batch.
					await fs.fsyncInPool(written);
					if (newFile) {
						// A new file: its name must reach the disk too.
						syncDirectory(dirname(path), fs);
					}
				} finally {
					closeSync(written);
				}

				return {state: {chain: planned.state, known: `${after.ino}:${after.size}`}, results: planned.results, written: planned.written};
			},
		};
	} finally {
		if (fd >= 0) {
			closeSync(fd);
		}
	}
}

/** The newest rotated file's name, last head and size, when there is one with a record. */
function previousFile(path: string): PreviousFile | undefined {
	const previous = rotatedFiles(path).at(-1);
	if (previous === undefined) {
		return undefined;
	}

	const fd = openSync(previous, 'r');
	try {
		const bytes = fstatSync(fd).size;
		const {head} = readTail(fd, bytes);
		return head ? {name: basename(previous), head, bytes} : undefined;
	} finally {
		closeSync(fd);
	}
}

/**
 * The last complete record of a log file, and whether the file lacks its final newline (a torn
 * line, or a last record whose newline a crash cut off, which then still counts). Reads 256 KiB
 * back, and further when no whole record is in that window (one record can be larger).
 */
function readTail(fd: number, size: number): FileTail {
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
