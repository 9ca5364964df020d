/** The anchor's slot writer against what another hand does to its file: cut or rewritten in place, a link put in its place, its mode changed, a write number at its end. */
import {chmodSync, closeSync, linkSync, lstatSync, mkdtempSync, openSync, readFileSync, renameSync, statSync, symlinkSync, truncateSync, writeFileSync, writeSync} from 'node:fs';
import {dirname} from 'node:path';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import test from 'ava';
import type {Anchor} from '../../source/audit/anchor.js';
import {openAnchorWriter, readAnchor} from '../../source/audit/anchor-file.js';
import {slotLine} from '../../source/audit/anchor-slots.js';

const anchor = (seq: number): Anchor => ({version: 1, log: 'L', seq, hash: String(seq % 10).repeat(64), at: `t${seq}`});
const path = () => join(mkdtempSync(join(tmpdir(), 'anchor-review-')), 'audit-head.json');
const seqOf = (read: ReturnType<typeof readAnchor>) => (typeof read === 'object' ? read.seq : read);
/** Writes each anchor in turn and reads the file back after each: what a verifier would see. */
const writtenThenRead = (writer: ReturnType<typeof openAnchorWriter>, file: string, seqs: number[]) => seqs.map(seq => {
	writer.write(anchor(seq));
	return seqOf(readAnchor(file));
});

for (const [title, damage] of [
	['cut to nothing in place (: > audit-head.json)', (file: string) => truncateSync(file, 0)],
	['rewritten in place with an old-format anchor (cp onto it)', (file: string) => writeFileSync(file, JSON.stringify(anchor(1)) + '\n')],
] as const) {
	test(`a slot file ${title} while the writer keeps it open: every later write reads back`, t => {
		const file = path();
		const writer = openAnchorWriter(file);
		writer.write(anchor(1));
		writer.write(anchor(2));
		damage(file);
		const read = writtenThenRead(writer, file, [3, 4, 5]);
		writer.close();
		t.deepEqual(read, [3, 4, 5]);
	});
}

test('a slot whose write number is the largest safe integer is not taken as the newest: the writer\'s anchors read back', t => {
	const file = path();
	const first = openAnchorWriter(file);
	first.write(anchor(1));
	first.close();
	const fd = openSync(file, 'r+');
	writeSync(fd, slotLine(anchor(1), Number.MAX_SAFE_INTEGER), 0);
	closeSync(fd);
	const writer = openAnchorWriter(file);
	const read = writtenThenRead(writer, file, [2, 3, 4]);
	writer.close();
	t.deepEqual(read, [2, 3, 4]);
});

test('a symbolic link put in place of the slot file is replaced, not written through', t => {
	const file = path();
	const writer = openAnchorWriter(file);
	writer.write(anchor(1));
	const target = join(dirname(file), 'elsewhere');
	const first = readFileSync(file);
	writeFileSync(target, first);
	renameSync(file, `${file}.old`);
	symlinkSync(target, file);
	writer.write(anchor(2));
	writer.write(anchor(3));
	writer.close();
	t.false(lstatSync(file).isSymbolicLink());
	t.deepEqual(readFileSync(target), first);
	t.is(seqOf(readAnchor(file)), 3);
});

test('a slot file with a second name (hard link) is replaced at the next write, not written through', t => {
	const file = path();
	const first = openAnchorWriter(file);
	first.write(anchor(1));
	first.close();
	const other = join(dirname(file), 'other-name');
	linkSync(file, other);
	const before = readFileSync(other);
	const writer = openAnchorWriter(file);
	writer.write(anchor(2));
	writer.write(anchor(3));
	writer.close();
	t.deepEqual(readFileSync(other), before);
	t.is(statSync(file).nlink, 1);
	t.is(seqOf(readAnchor(file)), 3);
});

test('a slot file whose mode was widened is put back to 0600 at the next write', t => {
	const file = path();
	const first = openAnchorWriter(file);
	first.write(anchor(1));
	first.close();
	chmodSync(file, 0o644);
	const writer = openAnchorWriter(file);
	writer.write(anchor(2));
	writer.close();
	t.is(statSync(file).mode & 0o777, 0o600);
	t.is(seqOf(readAnchor(file)), 2);
});

test('a slot file whose mode was widened while the writer keeps it open is put back to 0600 at the next write', t => {
	const file = path();
	const writer = openAnchorWriter(file);
	writer.write(anchor(1));
	writer.write(anchor(2));
	chmodSync(file, 0o644);
	writer.write(anchor(3));
	writer.close();
	t.is(statSync(file).mode & 0o777, 0o600);
	t.is(seqOf(readAnchor(file)), 3);
});
