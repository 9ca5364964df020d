/**
 * The anchor's file (anchor.ts), mode 0600, in either of two formats, both read here:
 *
 * - slots (anchor-slots.ts): two fixed slots written in place, each fdatasynced before the next
 *   write starts, the newest whose checksum verifies counting. The agent writes this
 *   (`openAnchorWriter`): it is the only writer of its home's anchor, for its life.
 * - one JSON anchor, replaced whole (temp file, fsync, rename; `writeAnchor`): what older versions
 *   wrote, and what the controller writes, where several processes (CLI runs, a server) may
 *   write the same home's anchor at once.
 *
 * Neither fsyncs the directory for each write: a rename lost in a power cut leaves the anchor
 * before it, which names a record the log (fsynced before) still holds, so verify finds it behind,
 * never ahead or torn. A slot file is created (temp, fsync, rename, directory fsync) once; its
 * writes after that change no name.
 */
import {closeSync, constants, fchmodSync, fdatasyncSync, fstatSync, lstatSync, openSync, readFileSync, readSync, writeSync} from 'node:fs';
import {replaceFileMayLag, writeFileDurable} from '../io/durable-fs.js';
import {parseAnchor, type Anchor} from './anchor.js';
import {anchorOfSlots, newestSlot, newSlotFile, otherSlotNote, readSlots, slotFileBytes, slotLine, slotStride} from './anchor-slots.js';

/** The anchor in `path`; undefined when there is none; a string saying why the file is not one. */
export function readAnchor(path: string): Anchor | string | undefined {
	return readNotedAnchor(path).anchor;
}

/** readAnchor's answer, and for a slot file whose other slot does not verify, a note saying so (for verify to print). */
export function readNotedAnchor(path: string): {anchor: Anchor | string | undefined; note?: string} {
	let bytes: Buffer;
	try {
		bytes = readFileSync(path);
	} catch (error) {
		const code = (error as NodeJS.ErrnoException).code;
		return {anchor: code === 'ENOENT' ? undefined : `cannot read it: ${code ?? (error as Error).message}`};
	}

	if (bytes.length === slotFileBytes) {
		const note = otherSlotNote(bytes);
		return {anchor: anchorOfSlots(bytes), ...(note ? {note} : {})};
	}

	return {anchor: parseOneAnchor(bytes)};
}

function parseOneAnchor(bytes: Buffer): Anchor | string {
	try {
		return parseAnchor(JSON.parse(bytes.toString('utf8')));
	} catch {
		return 'it is not JSON';
	}
}

/** Replaces the file whole with one JSON anchor (the controller's writer). */
export function writeAnchor(path: string, anchor: Anchor): void {
	replaceFileMayLag(path, JSON.stringify(anchor) + '\n', 0o600);
}

/** The slot writer's two steps on its descriptor, as a port: a test tears a write or fails a sync. */
export type AnchorFs = {
	pwrite: (fd: number, data: Buffer, position: number) => number;
	fdatasync: (fd: number) => void;
};

export const nodeAnchorFs: AnchorFs = {
	pwrite: (fd, data, position) => writeSync(fd, data, 0, data.length, position),
	fdatasync: fdatasyncSync,
};

export type AnchorWriter = {write: (anchor: Anchor) => void; close: () => void};

/** The open slot file: which file it is (a file put in its place is opened anew), its newest slot and write number. */
type OpenSlots = {fd: number; dev: number; ino: number; newest: 0 | 1; n: number};

/**
 * The slot writer for `path`, for one process that is the file's only writer. Each write goes to
 * the slot not holding the newest anchor and is fdatasynced before write() returns; a write that
 * fails (torn, a failed sync) leaves the newest slot as it was, so the next write goes to the same
 * slot again. A missing file, one in the older format, or one with no whole slot is replaced by a
 * new slot file holding the anchor; so are a symbolic link, a file with a second name, and a file
 * put in place of the one open. At each write one lstat(2) checks the open file is still the one at
 * `path`, whole (its size), with one name and mode 0600; if not, it is opened anew.
 */
export function openAnchorWriter(path: string, fs: AnchorFs = nodeAnchorFs): AnchorWriter {
	let open: OpenSlots | undefined;
	const forget = () => {
		if (open) {
			closeSync(open.fd);
			open = undefined;
		}
	};

	return {
		write(anchor) {
			const now = lstatSync(path, {throwIfNoEntry: false});
			// A file (or link) put in its place, this one cut or rewritten in place (`: >`, cp onto it), or its mode widened: opened anew.
			if (open && (now?.ino !== open.ino || now.dev !== open.dev || now.size !== slotFileBytes || now.nlink !== 1 || (now.mode & 0o777) !== 0o600)) {
				forget();
			}

			open ??= now?.isFile() ? openSlotFileOrNone(path) : undefined;
			if (!open) {
				writeFileDurable(path, newSlotFile(anchor), 0o600);
				open = openSlotFile(path);
				return;
			}

			const slot = open.newest === 0 ? 1 : 0;
			const line = Buffer.from(slotLine(anchor, open.n + 1));
			const written = fs.pwrite(open.fd, line, slot * slotStride);
			if (written !== line.length) {
				throw new Error(`only ${written} of ${line.length} bytes of the anchor were written`);
			}

			fs.fdatasync(open.fd);
			open.newest = slot;
			open.n += 1;
		},
		close: forget,
	};
}

/** As openSlotFile, but a file this process cannot open for writing (its mode, its owner) is replaced whole, as the older writer did. */
function openSlotFileOrNone(path: string): OpenSlots | undefined {
	try {
		return openSlotFile(path);
	} catch {
		return undefined;
	}
}

/**
 * The slot file at `path`, open for writing, or undefined when it is not one with a whole slot.
 * A symbolic link is not followed and a file with other names (hard links) is not written through:
 * both are replaced whole, the link itself, as the older writer's rename did; the mode is put back to 0600.
 */
function openSlotFile(path: string): OpenSlots | undefined {
	const fd = openSync(path, constants.O_RDWR | constants.O_NOFOLLOW);
	try {
		const stats = fstatSync(fd);
		if (stats.isFile() && stats.nlink === 1 && stats.size === slotFileBytes) {
			if ((stats.mode & 0o777) !== 0o600) {
				fchmodSync(fd, 0o600);
			}

			const bytes = Buffer.alloc(slotFileBytes);
			if (readSync(fd, bytes, 0, slotFileBytes, 0) === slotFileBytes) {
				const slots = readSlots(bytes);
				const newest = newestSlot(slots);
				if (newest !== undefined) {
					const {n} = slots[newest] as {n: number};
					return {fd, dev: stats.dev, ino: stats.ino, newest, n};
				}
			}
		}
	} catch (error) {
		closeSync(fd);
		throw error;
	}

	closeSync(fd);
	return undefined;
}
