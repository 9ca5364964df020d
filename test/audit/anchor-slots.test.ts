/**
 * The anchor's slot file (anchor-slots.ts, anchor-file.ts): written in place, one slot at a time,
 * it reads old-or-new whatever part of a write reached the disk; both slots damaged is the clear
 * error `audit verify` has always given for an unreadable anchor; the older one-JSON format is
 * still read, and replaced by the writer's first write; `audit verify` (verifyAudit) gives the
 * same verdicts on a log anchored either way.
 */
import {closeSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync} from 'node:fs';
import {join} from 'node:path';
import test, {type ExecutionContext} from 'ava';
import {checkAnchor, type Anchor} from '../../source/audit/anchor.js';
import {nodeAnchorFs, openAnchorWriter, readAnchor, writeAnchor, type AnchorFs} from '../../source/audit/anchor-file.js';
import {newSlotFile, otherSlotNote, readSlots, slotFileBytes, slotLine, slotStride} from '../../source/audit/anchor-slots.js';
import {temporaryDirectory} from './helpers.js';

const anchorAt = (seq: number, log = 'a3f1c2d4-0000-4000-8000-000000000001'): Anchor => ({version: 1, log, seq, hash: seq.toString(16).padStart(64, '0'), at: `2026-12-07T19:${String(seq % 60).padStart(2, '0')}:00.000Z`});

/** Overwrites bytes of the file at `offset`, as a write cut short leaves them. */
function damage(path: string, offset: number, bytes: string | Buffer): void {
	const fd = openSync(path, 'r+');
	try {
		writeSync(fd, typeof bytes === 'string' ? Buffer.from(bytes) : bytes, 0, Buffer.byteLength(bytes), offset);
	} finally {
		closeSync(fd);
	}
}

function written(t: ExecutionContext, seqs: readonly number[], fs?: AnchorFs): {path: string; writer: ReturnType<typeof openAnchorWriter>} {
	const path = join(temporaryDirectory(t), 'audit-head.json');
	const writer = openAnchorWriter(path, fs);
	t.teardown(writer.close);
	for (const seq of seqs) {
		writer.write(anchorAt(seq));
	}

	return {path, writer};
}

test('each write lands in the other slot, numbered; the newest is read; the file keeps its size, mode and inode', t => {
	const {path, writer} = written(t, [3]);
	const {ino} = statSync(path);
	t.is(statSync(path).size, slotFileBytes);
	t.is(statSync(path).mode & 0o777, 0o600);
	t.deepEqual(readAnchor(path), anchorAt(3));
	for (const seq of [7, 11, 15]) {
		writer.write(anchorAt(seq));
		t.deepEqual(readAnchor(path), anchorAt(seq));
	}

	t.deepEqual(readSlots(readFileSync(path)), [{anchor: anchorAt(11), n: 3}, {anchor: anchorAt(15), n: 4}]);
	t.is(statSync(path).ino, ino, 'written in place: no new file');
	t.is(statSync(path).size, slotFileBytes);
	// Each slot is one JSON line a person (or jq) can read.
	t.deepEqual(readFileSync(path, 'utf8').split('\n').filter(Boolean).map(line => JSON.parse(line) as unknown), [slotLine(anchorAt(11), 3), slotLine(anchorAt(15), 4)].map(line => JSON.parse(line) as unknown));
});

test('a write torn at any byte, from its start or its end, reads as the anchor before it or the new one', t => {
	// Slot A holds write 1 (shorter or as long as the new line), slot B write 2: write 3 goes to slot A.
	for (const first of [anchorAt(1), anchorAt(1, 'x')]) {
		const path = join(temporaryDirectory(t), 'audit-head.json');
		const writer = openAnchorWriter(path);
		writer.write(first);
		writer.write(anchorAt(2));
		writer.close();
		const before = readFileSync(path);
		const line = Buffer.from(slotLine(anchorAt(123_456), 3));
		let torn = 0;
		for (let cut = 0; cut <= line.length; cut++) {
			for (const [offset, part, what] of [[0, line.subarray(0, cut), `the first ${cut} bytes`], [cut, line.subarray(cut), `the bytes from ${cut} on`]] as const) {
				writeFileSync(path, before);
				damage(path, offset, part);
				// New only when slot A holds the whole new line (its old bytes may equal the new ones where they were not written).
				const whole = readFileSync(path).subarray(0, line.length).equals(line);
				t.deepEqual(readAnchor(path), whole ? anchorAt(123_456) : anchorAt(2), `${what} written`);
				torn += whole ? 0 : 1;
			}
		}

		t.true(torn > line.length, `${torn} of ${2 * (line.length + 1)} writes left slot A torn`);
	}
});

test('garbage or a newline in the middle of the newest slot: the other slot is read', t => {
	for (const [offset, garbage] of [[40, '\u0000\u0000\u0000\u0000'], [40, '\n'], [40, 'ffff'], [40, '"}'], [JSON.stringify(anchorAt(9)).indexOf('"seq":') + 6, '8']] as const) {
		const {path} = written(t, [4, 9]);
		damage(path, slotStride + offset, garbage);
		t.deepEqual(readAnchor(path), anchorAt(4), JSON.stringify(garbage));
	}
});

test('a write cut short leaves the newest slot alone, and the next write goes to the same slot', t => {
	let tear = false;
	const tearing: AnchorFs = {
		pwrite(fd, data, position) {
			if (tear) {
				tear = false;
				nodeAnchorFs.pwrite(fd, data.subarray(0, 90), position);
				throw Object.assign(new Error('ENOSPC: no space left on device'), {code: 'ENOSPC'});
			}

			return nodeAnchorFs.pwrite(fd, data, position);
		},
		fdatasync: nodeAnchorFs.fdatasync,
	};
	const {path, writer} = written(t, [1, 2], tearing);
	tear = true;
	t.throws(() => {
		writer.write(anchorAt(3));
	}, {message: /ENOSPC/});
	t.deepEqual(readAnchor(path), anchorAt(2));
	t.deepEqual(readSlots(readFileSync(path)), [{damaged: 'its checksum does not match'}, {anchor: anchorAt(2), n: 2}]);
	writer.write(anchorAt(4));
	t.deepEqual(readSlots(readFileSync(path)), [{anchor: anchorAt(4), n: 3}, {anchor: anchorAt(2), n: 2}]);
	writer.write(anchorAt(5));
	t.deepEqual(readAnchor(path), anchorAt(5));
});

test('a failed fdatasync: the slot is written again by the next write, the newest left alone', t => {
	let fail = false;
	const calls: string[] = [];
	const failing: AnchorFs = {
		pwrite(fd, data, position) {
			calls.push(`pwrite ${position}`);
			return nodeAnchorFs.pwrite(fd, data, position);
		},
		fdatasync(fd) {
			calls.push('fdatasync');
			if (fail) {
				fail = false;
				throw Object.assign(new Error('EIO: i/o error, fdatasync'), {code: 'EIO'});
			}

			nodeAnchorFs.fdatasync(fd);
		},
	};
	const {path, writer} = written(t, [1, 2], failing);
	fail = true;
	t.throws(() => {
		writer.write(anchorAt(3));
	}, {message: /EIO/});
	writer.write(anchorAt(4));
	t.deepEqual(calls, [`pwrite ${slotStride}`, 'fdatasync', 'pwrite 0', 'fdatasync', 'pwrite 0', 'fdatasync']);
	t.deepEqual(readSlots(readFileSync(path)), [{anchor: anchorAt(4), n: 3}, {anchor: anchorAt(2), n: 2}]);
});

test('both slots damaged: the clear error, and the verdict `audit verify` has always given', t => {
	const {path, writer} = written(t, [4, 9, 5]);
	damage(path, JSON.stringify(anchorAt(9)).indexOf('"seq":') + 6, '8');
	damage(path, slotStride, '\n');
	const why = 'neither of its two slots holds an anchor whose checksum verifies (A: its checksum does not match, B: empty); the writer replaces the file at its next checkpoint, and the log\'s tail can be checked meanwhile against the controller\'s witness (xi-exec audit verify --cross)';
	t.is(readAnchor(path), why);
	t.deepEqual(checkAnchor({exists: true, records: []}, readAnchor(path), 'audit-head.json'), {ok: false, problem: 'anchor unreadable', text: `audit-head.json cannot be read as an anchor (${why})`});
	// An agent started on it finds no whole slot to keep: it writes a new file.
	writer.close();
	const next = openAnchorWriter(path);
	t.teardown(next.close);
	next.write(anchorAt(12));
	t.deepEqual(readAnchor(path), anchorAt(12));
	t.deepEqual(readSlots(readFileSync(path)), [{anchor: anchorAt(12), n: 1}, {empty: true}]);
});

test('the older format (one JSON anchor) is read, and replaced by the slot writer\'s first write', t => {
	const path = join(temporaryDirectory(t), 'audit-head.json');
	writeAnchor(path, anchorAt(6));
	t.is(readFileSync(path, 'utf8'), JSON.stringify(anchorAt(6)) + '\n');
	t.deepEqual(readAnchor(path), anchorAt(6));
	writeFileSync(path, '{"version": 1, "log": "l"');
	t.is(readAnchor(path), 'it is not JSON');
	writeFileSync(path, '');
	t.is(readAnchor(path), 'it is not JSON');
	writeAnchor(path, anchorAt(6));
	const writer = openAnchorWriter(path);
	t.teardown(writer.close);
	writer.write(anchorAt(8));
	t.is(statSync(path).size, slotFileBytes);
	t.deepEqual(readAnchor(path), anchorAt(8));
	writer.write(anchorAt(10));
	t.deepEqual(readAnchor(path), anchorAt(10));
});

test('a file deleted or put in place of the open one: the next write makes the path hold the newest anchor again', t => {
	const {path, writer} = written(t, [1, 2]);
	rmSync(path);
	writer.write(anchorAt(3));
	t.deepEqual(readAnchor(path), anchorAt(3));
	const other = `${path}.restored`;
	writeAnchor(other, anchorAt(1));
	renameSync(other, path);
	writer.write(anchorAt(4));
	t.deepEqual(readAnchor(path), anchorAt(4));
	writer.write(anchorAt(5));
	t.deepEqual(readAnchor(path), anchorAt(5));
	t.is(statSync(path).size, slotFileBytes);
});

test('a second writer (a restarted agent) continues from the newest slot', t => {
	const {path, writer} = written(t, [1, 2, 3]);
	writer.close();
	const next = openAnchorWriter(path);
	t.teardown(next.close);
	next.write(anchorAt(4));
	t.deepEqual(readSlots(readFileSync(path)), [{anchor: anchorAt(3), n: 3}, {anchor: anchorAt(4), n: 4}]);
	t.deepEqual(readAnchor(path), anchorAt(4));
});

test('otherSlotNote: nothing for a whole or never-written other slot; which slot was read and why the other does not verify', t => {
	const first = {version: 1, log: 'L', seq: 1, hash: 'a'.repeat(64), at: 't1'} as const;
	const file = Buffer.from(newSlotFile(first));
	t.is(otherSlotNote(file), undefined, 'slot B never written');
	file.write(slotLine({...first, seq: 2}, 2), slotStride);
	t.is(otherSlotNote(file), undefined, 'both whole');
	file.write('X', 20);
	t.is(otherSlotNote(file), 'read from slot B; slot A does not verify (its checksum does not match): a write torn by a crash, or an edit');
});
