/**
 * The anchor's file (anchor.ts) as two slots written in place, so a checkpoint's anchor costs one
 * pwrite and one fdatasync on a descriptor kept open (replacing the file whole — temp file, fsync,
 * rename — cost 0.216 ms of CPU and blocked the loop 3.3 ms per write).
 *
 * Slot A is at offset 0, slot B at `slotStride` (64 KiB: never in the same filesystem block or
 * memory page, on any page size Linux uses, so writing one never rewrites the other's bytes). Each
 * holds one JSON line: the anchor, `n` (which write it was: the newest slot has the highest) and
 * `sum`, the SHA-256 of the rest. A write goes to the slot not holding the newest anchor, and is
 * fdatasynced before the next write may start; only then does that slot count as the newest. So
 * at any instant at most one slot is being written, and the other holds a whole anchor on the
 * disk: a write torn by a crash or a power cut damages only its own slot, whose sum then fails,
 * and a reader takes the other — the anchor before (which verify accepts: it lags) or the new one.
 *
 * A file of any other size is the older format: one JSON anchor, replaced whole (anchor-file.ts
 * reads it; the writer replaces it with a slot file at its first write).
 */
import {createHash} from 'node:crypto';
import {parseAnchor, type Anchor} from './anchor.js';

/** The most bytes one slot's line may take, its newline included. */
export const slotBytes = 4096;
/** Where slot B starts. */
export const slotStride = 64 * 1024;
/** A slot file's size, exactly: slot A, the gap, slot B. */
export const slotFileBytes = slotStride + slotBytes;

export type SlotRead = {anchor: Anchor; n: number} | {empty: true} | {damaged: string};

function sumOf(anchor: Anchor, n: number): string {
	return createHash('sha256').update(JSON.stringify({version: anchor.version, log: anchor.log, seq: anchor.seq, hash: anchor.hash, at: anchor.at, n})).digest('hex');
}

/** One slot's line: the anchor, the write's number and their checksum, with its newline. */
export function slotLine(anchor: Anchor, n: number): string {
	const line = JSON.stringify({version: anchor.version, log: anchor.log, seq: anchor.seq, hash: anchor.hash, at: anchor.at, n, sum: sumOf(anchor, n)}) + '\n';
	if (Buffer.byteLength(line) > slotBytes) {
		throw new RangeError(`an anchor of ${Buffer.byteLength(line)} bytes does not fit a slot of ${slotBytes}`);
	}

	return line;
}

/** The slot at `offset` of a slot file's bytes: its first line up to `slotBytes`, or why it holds no anchor. */
export function readSlot(file: Uint8Array, offset: number): SlotRead {
	const bytes = Buffer.from(file.buffer, file.byteOffset + offset, Math.min(slotBytes, file.byteLength - offset));
	const end = bytes.indexOf(10);
	if (end === 0) {
		return {empty: true};
	}

	if (end < 0) {
		return {damaged: 'no whole line'};
	}

	let value: Record<string, unknown>;
	try {
		value = JSON.parse(bytes.toString('utf8', 0, end)) as Record<string, unknown>;
	} catch {
		return {damaged: 'not JSON'};
	}

	const anchor = parseAnchor(value);
	const {n, sum} = value;
	if (typeof anchor === 'string' || !Number.isSafeInteger(n) || !Number.isSafeInteger((n as number) + 1) || (n as number) < 1 || typeof sum !== 'string') {
		return {damaged: 'not an anchor with "n" and "sum"'};
	}

	const kept: Anchor = {version: anchor.version, log: anchor.log, seq: anchor.seq, hash: anchor.hash, at: anchor.at};
	return sum === sumOf(kept, n as number) ? {anchor: kept, n: n as number} : {damaged: 'its checksum does not match'};
}

/** Both slots of a slot file's bytes: [A, B]. */
export function readSlots(file: Uint8Array): [SlotRead, SlotRead] {
	return [readSlot(file, 0), readSlot(file, slotStride)];
}

/** Which slot holds the newest whole anchor (0: A, 1: B), or undefined when neither does. */
export function newestSlot(slots: readonly [SlotRead, SlotRead]): 0 | 1 | undefined {
	const [a, b] = slots.map(slot => ('n' in slot ? slot.n : 0));
	if (a === 0 && b === 0) {
		return undefined;
	}

	return a! >= b! ? 0 : 1;
}

/** The newest whole anchor of a slot file's bytes, or why there is none. */
export function anchorOfSlots(file: Uint8Array): Anchor | string {
	const slots = readSlots(file);
	const newest = newestSlot(slots);
	if (newest === undefined) {
		const why = slots.map((slot, index) => `${index === 0 ? 'A' : 'B'}: ${'damaged' in slot ? slot.damaged : 'empty'}`).join(', ');
		return `neither of its two slots holds an anchor whose checksum verifies (${why}); the writer replaces the file at its next checkpoint, and the log's tail can be checked meanwhile against the controller's witness (xi-exec audit verify --cross)`;
	}

	return (slots[newest] as {anchor: Anchor}).anchor;
}

/**
 * What a reader of the anchor should hear about the slot not read: when it does not verify, a write
 * torn by a crash (legitimate: the other slot is the anchor before it) or an edit. Undefined when it
 * is whole or was never written.
 */
export function otherSlotNote(file: Uint8Array): string | undefined {
	const slots = readSlots(file);
	const newest = newestSlot(slots);
	if (newest === undefined) {
		return undefined;
	}

	const other = slots[newest === 0 ? 1 : 0];
	return 'damaged' in other ? `read from slot ${newest === 0 ? 'A' : 'B'}; slot ${newest === 0 ? 'B' : 'A'} does not verify (${other.damaged}): a write torn by a crash, or an edit` : undefined;
}

/** A new slot file's text: `anchor` in slot A as write 1, slot B empty, every other byte a newline. */
export function newSlotFile(anchor: Anchor): string {
	const line = slotLine(anchor, 1);
	return line + '\n'.repeat(slotFileBytes - Buffer.byteLength(line));
}
