/**
 * The one write path for state files: a power cut at any instant leaves the old or the new
 * content, never an empty or torn file. A whole file is written to a temporary file beside it,
 * fsynced, renamed over the old one, and the directory is fsynced (the rename is an entry of the
 * directory; until the directory reaches the disk the old name may come back). An append is
 * fsynced before the caller is told it happened. Every call goes through a port (`DurableFs`) so
 * a test can record the order of the calls.
 */
import {randomBytes} from 'node:crypto';
import {chmodSync, closeSync, constants, fsync, fsyncSync, openSync, renameSync, rmSync, writeSync} from 'node:fs';
import {basename, dirname, join} from 'node:path';
import {promisify} from 'node:util';

export type DurableFs = {
	/** Opens for writing; `exclusive` fails when the file exists, `append` adds at its end. */
	open: (path: string, how: 'exclusive' | 'append', mode: number) => number;
	/** Opens a directory read-only, to fsync its entries. */
	openDirectory: (path: string) => number;
	write: (fd: number, data: string) => number;
	chmod: (path: string, mode: number) => void;
	fsync: (fd: number) => void;
	/**
	 * The same fsync on libuv's thread pool: the event loop goes on meanwhile (the audit log's
	 * batches, where a synchronous fsync per batch stalled every connection of a busy process).
	 */
	fsyncInPool: (fd: number) => Promise<void>;
	close: (fd: number) => void;
	rename: (from: string, to: string) => void;
	remove: (path: string) => void;
};

export const nodeFs: DurableFs = {
	open: (path, how, mode) => openSync(path, how === 'exclusive' ? 'wx' : 'a', mode),
	openDirectory: path => openSync(path, constants.O_RDONLY | constants.O_DIRECTORY),
	write: (fd, data) => writeSync(fd, data),
	chmod: chmodSync,
	fsync: fsyncSync,
	fsyncInPool: promisify(fsync),
	close: closeSync,
	rename: renameSync,
	remove: path => {
		rmSync(path, {force: true});
	},
};

/** Writes `data` to `path` durably: temp file, fsync, rename, fsync the directory. */
export function writeFileDurable(path: string, data: string, mode = 0o600, fs: DurableFs = nodeFs): void {
	replaceWhole(path, data, mode, fs);
	syncDirectory(dirname(path), fs);
}

/**
 * Replaces `path` whole where the content before is an acceptable result of a crash (the audit
 * anchor: an older anchor only lags behind the log, which verify accepts): temp file, fsync, rename,
 * and no fsync of the directory. After a power cut the file holds the old content or the new, whole.
 */
export function replaceFileMayLag(path: string, data: string, mode = 0o600, fs: DurableFs = nodeFs): void {
	replaceWhole(path, data, mode, fs);
}

function replaceWhole(path: string, data: string, mode: number, fs: DurableFs): void {
	const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
	try {
		const fd = fs.open(temporary, 'exclusive', mode);
		try {
			writeAll(fs, fd, data);
			// The mode passed to open() is masked by the umask; the file's mode is part of its contract.
			fs.chmod(temporary, mode);
			fs.fsync(fd);
		} finally {
			fs.close(fd);
		}

		fs.rename(temporary, path);
	} catch (error) {
		fs.remove(temporary);
		throw error;
	}
}

/** Renames durably: the rename, then an fsync of each directory it touched. */
export function renameDurable(from: string, to: string, fs: DurableFs = nodeFs): void {
	fs.rename(from, to);
	syncDirectory(dirname(to), fs);
	if (dirname(from) !== dirname(to)) {
		syncDirectory(dirname(from), fs);
	}
}

/**
 * Appends and fsyncs: when it returns, `data` (and everything appended before it) is on the disk.
 * `created` also fsyncs the directory (a new file's name); `sync: false` leaves this append to
 * the next one that syncs.
 */
export function appendDurable(path: string, data: string, options: {mode?: number; created?: boolean; sync?: boolean} = {}, fs: DurableFs = nodeFs): void {
	const fd = fs.open(path, 'append', options.mode ?? 0o600);
	try {
		writeAll(fs, fd, data);
		if (options.sync !== false) {
			fs.fsync(fd);
		}

	} finally {
		fs.close(fd);
	}

	if (options.created) {
		syncDirectory(dirname(path), fs);
	}
}

/** Makes the directory's entries (new, renamed and removed names) durable. */
export function syncDirectory(path: string, fs: DurableFs = nodeFs): void {
	const fd = fs.openDirectory(path);
	try {
		fs.fsync(fd);
	} finally {
		fs.close(fd);
	}
}

/** write() may write part of the data without throwing (a full disk, a file size limit). */
export function writeAll(fs: DurableFs, fd: number, data: string): void {
	const expected = Buffer.byteLength(data);
	const written = fs.write(fd, data);
	if (written !== expected) {
		throw new Error(`only ${written} of ${expected} bytes were written`);
	}
}
