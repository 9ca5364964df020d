/**
 * What a batch leaves on the disk when the disk fails, as a table: one call of the write path
 * fails (through the injected fs port) while a batch is written; the appends of that batch are
 * refused (fail closed) with the error named; the files then hold exactly what the row says; and
 * the next append continues one chain that `verifyLogSet` accepts.
 */
import {readdirSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {openAuditLog, type AuditLog} from '../../source/audit/file-log.js';
import {readAuditSet} from '../../source/audit/read-log.js';
import {verifyLogSet} from '../../source/audit/verify-set.js';
import {nodeFs, type DurableFs} from '../../source/io/durable-fs.js';
import {auditKey, fakeClock, fileLines, parseLines, temporaryDirectory} from './helpers.js';

const key = await auditKey('failures-key');

type Failure = 'write throws' | 'short write' | 'fsync' | 'rename' | 'directory fsync';

/** The real fs, except that the next call of the armed kind fails once. */
function failingFs(): DurableFs & {arm: (failure: Failure, skip?: number) => void} {
	const directories = new Set<number>();
	let armed: Failure | undefined;
	let skipping = 0;
	const trip = (failure: Failure) => {
		if (armed !== failure) {
			return false;
		}

		if (skipping > 0) {
			skipping--;
			return false;
		}

		armed = undefined;
		return true;
	};

	const error = (code: string) => Object.assign(new Error(`${code}: injected`), {code});
	return {
		...nodeFs,
		arm(failure, skip = 0) {
			armed = failure;
			skipping = skip;
		},
		openDirectory(path) {
			const fd = nodeFs.openDirectory(path);
			directories.add(fd);
			return fd;
		},
		close(fd) {
			directories.delete(fd);
			nodeFs.close(fd);
		},
		write(fd, data) {
			if (trip('write throws')) {
				throw error('ENOSPC');
			}

			return trip('short write') ? nodeFs.write(fd, data.slice(0, 12)) : nodeFs.write(fd, data);
		},
		fsync(fd) {
			if (trip(directories.has(fd) ? 'directory fsync' : 'fsync')) {
				throw error('EIO');
			}

			nodeFs.fsync(fd);
		},
		async fsyncInPool(fd) {
			if (trip('fsync')) {
				throw error('EIO');
			}

			await nodeFs.fsyncInPool(fd);
		},
		rename(from, to) {
			if (trip('rename')) {
				throw error('EACCES');
			}

			nodeFs.rename(from, to);
		},
	};
}

/** The files of the log's set, each as its events (`-` a line that is no record, `…` a torn end). */
function filesOf(path: string): Record<string, string> {
	const directory = join(path, '..');
	const files: Record<string, string> = {};
	for (const name of readdirSync(directory).filter(name => !name.endsWith('.lock')).sort()) {
		const lines = fileLines(join(directory, name));
		files[name] = lines.map((line, index) => (line === '' ? (index === lines.length - 1 ? '' : '-') : parseLines([line])[0]?.event ?? `${line.slice(0, 4)}…`)).join(' ').trim();
	}

	return files;
}

type Row = {
	title: string;
	failure: Failure;
	/** Calls of that kind that succeed before the one that fails. */
	skip?: number;
	/** Three appends before the failing batch, past the rotation size (1000 bytes): the failing batch rotates. */
	rotate?: boolean;
	error: RegExp;
	/** The files just after the failure, and after the next append. */
	after: Record<string, string>;
	next: Record<string, string>;
	warnings?: number;
};

const rows: Row[] = [
	{title: 'the batch\'s write fails: nothing of it is in the file', failure: 'write throws', error: /\(ENOSPC\)/, after: {'audit.jsonl': 'a a'}, next: {'audit.jsonl': 'a a next checkpoint'}},
	{title: 'the batch\'s write is cut short: the cut is recorded by the next batch', failure: 'short write', error: /\(only 12 of \d+ bytes were written\)/, after: {'audit.jsonl': 'a a {"ev…'}, next: {'audit.jsonl': 'a a {"ev… log.torn next checkpoint'}, warnings: 1},
	{title: 'the batch\'s fsync fails: its lines are in the file, refused; the chain continues after them', failure: 'fsync', error: /\(EIO\)/, after: {'audit.jsonl': 'a a failing failing'}, next: {'audit.jsonl': 'a a failing failing next checkpoint'}},
	{title: 'the seal\'s write fails: the full file stays as it was, and is sealed next time', failure: 'write throws', rotate: true, error: /\(ENOSPC\)/, after: {'audit.jsonl': 'a a a'}, next: {'audit.jsonl': 'log.continued next checkpoint', 'audit.jsonl.1': 'a a a checkpoint'}},
	{title: 'the seal\'s fsync fails: the full file stays sealed, and is moved aside next time without a second seal', failure: 'fsync', rotate: true, error: /\(EIO\)/, after: {'audit.jsonl': 'a a a checkpoint'}, next: {'audit.jsonl': 'log.continued next checkpoint', 'audit.jsonl.1': 'a a a checkpoint'}},
	{title: 'the rename of a full file fails: it stays sealed, and is moved aside next time without a second seal', failure: 'rename', rotate: true, error: /\(EACCES\)/, after: {'audit.jsonl': 'a a a checkpoint'}, next: {'audit.jsonl': 'log.continued next checkpoint', 'audit.jsonl.1': 'a a a checkpoint'}},
	{title: 'the directory fsync after the rename fails: the next batch opens the new file with the carry-over', failure: 'directory fsync', rotate: true, error: /\(EIO\)/, after: {'audit.jsonl.1': 'a a a checkpoint'}, next: {'audit.jsonl': 'log.continued next checkpoint', 'audit.jsonl.1': 'a a a checkpoint'}},
	{title: 'the new file\'s directory fsync fails: its records are written and refused; the chain continues after them (a full file again)', failure: 'directory fsync', skip: 1, rotate: true, error: /\(EIO\)/, after: {'audit.jsonl': 'log.continued failing failing', 'audit.jsonl.1': 'a a a checkpoint'}, next: {'audit.jsonl': 'log.continued next checkpoint', 'audit.jsonl.1': 'a a a checkpoint', 'audit.jsonl.2': 'log.continued failing failing checkpoint'}},
];

for (const row of rows) {
	test(`a failing disk: ${row.title}`, async t => {
		const path = join(temporaryDirectory(t), 'audit.jsonl');
		const fs = failingFs();
		const log: AuditLog = openAuditLog({path, side: 'agent', signer: key.signer, now: fakeClock(), fs, rotateBytes: row.rotate ? 1000 : 1_000_000, checkpointEvery: 1000});
		const padding = 'x'.repeat(120);
		for (let n = 0; n < (row.rotate ? 3 : 2); n++) {
			await log.append({event: 'a', n, padding});
		}

		fs.arm(row.failure, row.skip);
		const failed = await Promise.allSettled([1, 2].map(async n => log.append({event: 'failing', n, padding: 'y'.repeat(n === 1 ? 180 : 250)})));
		t.deepEqual(failed.map(result => result.status), ['rejected', 'rejected']);
		const reason = (failed[0] as PromiseRejectedResult).reason as {code: string; message: string};
		t.is(reason.code, 'AUDIT_UNAVAILABLE');
		t.true(reason.message.startsWith(`Cannot write the audit log ${path} (`) && reason.message.endsWith('); refusing to act without a record.'), reason.message);
		t.regex(reason.message, row.error);
		t.deepEqual(filesOf(path), row.after, 'just after the failure');

		await log.append({event: 'next'});
		await log.close();
		const next = filesOf(path);
		t.deepEqual(next, row.next, 'after the next append and the close');
		const verdict = verifyLogSet(readAuditSet(path), {verifier: key.verifier});
		t.like(verdict, {ok: true});
		t.is(verdict.ok ? verdict.warnings.length : -1, row.warnings ?? 0);
	});
}
