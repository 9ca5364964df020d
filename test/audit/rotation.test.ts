/**
 * Rotation by size: the log's files (agent.jsonl.1, .2, .3, then agent.jsonl), each rotated file
 * sealed by a checkpoint, each later file opened by a carry-over record; `audit` and `audit verify`
 * read the whole set. Then a table of tampered sets, each with the exact verdict of verifyLogSet.
 */
import {execFile} from 'node:child_process';
import {readdirSync, renameSync, rmSync, statSync} from 'node:fs';
import {join} from 'node:path';
import {promisify} from 'node:util';
import test, {type ExecutionContext} from 'ava';
import {openAuditLog} from '../../source/audit/file-log.js';
import {canonical, recordHash, type AuditRecord} from '../../source/audit/record.js';
import {verifyLogSet, type LogFile, type SetVerdict} from '../../source/audit/verify-set.js';
import {auditListCommand, auditVerifyCommand} from '../../source/commands/audit.js';
import {readAuditSet} from '../../source/audit/read-log.js';
import {auditView} from '../../source/core/audit.js';
import {auditKey, fakeClock, fileLines, parseLines, temporaryDirectory, withoutHash} from './helpers.js';

const run = promisify(execFile);
const key = await auditKey('agent-key');
const repository = join(import.meta.dirname, '..', '..');

/** Records of 300-450 bytes, a checkpoint every 4, a new file past 3000 bytes: 20 appends make 4 files. */
async function writeRotatedLog(t: ExecutionContext, count = 20): Promise<{directory: string; path: string}> {
	const directory = temporaryDirectory(t);
	const path = join(directory, 'agent.jsonl');
	const log = openAuditLog({path, side: 'agent', signer: key.signer, now: fakeClock(), checkpointEvery: 4, rotateBytes: 3000});
	for (let n = 0; n < count; n++) {
		await log.append({event: 'test.append', requestId: `req-${n}`, agent: 'web1', n, padding: 'x'.repeat(100)});
	}

	await log.close();
	return {directory, path};
}

function captureIo() {
	const out: string[] = [];
	return {out, io: {stdout: (text: string) => out.push(text), stderr: (text: string) => out.push(text), onInterrupt() {
		// Nothing to cancel.
	}}};
}

test('a log past its size rotates: each old file ends with a checkpoint, each new one opens with a carry-over naming the file before it', async t => {
	const {directory, path} = await writeRotatedLog(t);
	t.deepEqual(readdirSync(directory).filter(name => !name.endsWith('.lock')).sort(), ['agent.jsonl', 'agent.jsonl.1', 'agent.jsonl.2', 'agent.jsonl.3']);
	const files = ['agent.jsonl.1', 'agent.jsonl.2', 'agent.jsonl.3', 'agent.jsonl'].map(name => join(directory, name));
	const records = files.map(file => parseLines(fileLines(file)));
	for (const [index, file] of files.entries()) {
		t.is(statSync(file).mode & 0o777, 0o600, `${file} is 0600`);
		t.is(records[index]!.at(-1)!.event, 'checkpoint', `${file} ends sealed`);
		if (index > 0) {
			const previous = records[index - 1]!.at(-1)!;
			t.deepEqual(records[index]![0], {
				...records[index]![0]!,
				event: 'log.continued',
				previousFile: `agent.jsonl.${index}`,
				previousHead: previous.hash,
				previousSize: previous.seq + 1,
				previousBytes: statSync(files[index - 1]!).size,
				seq: previous.seq + 1,
				prev: previous.hash,
				log: previous.log,
			});
		}
	}

	for (const file of files.slice(0, -1)) {
		t.true(statSync(file).size >= 3000, `${file} rotated once it held 3000 bytes`);
	}

	const all = records.flat();
	t.deepEqual(all.map(record => record.seq), all.map((_, index) => index), 'one chain across the files');
	t.deepEqual(all.filter(record => record.event === 'test.append').map(record => record['n']), Array.from({length: 20}, (_, n) => n));
	t.like(verifyLogSet(readAuditSet(path), {verifier: key.verifier}), {ok: true, files: 4, records: all.length, warnings: []});
});

test('`audit verify` and `audit` read the whole set of files', async t => {
	const {path} = await writeRotatedLog(t);
	const records = readAuditSet(path).flatMap(file => parseLines(file.lines));
	const verify = captureIo();
	t.is(auditVerifyCommand(path, key.verifier, verify.io), 0);
	t.deepEqual(verify.out, [`ok: ${records.length} records, chain intact, last checkpoint at ${records.at(-1)!.seq} (4 files)\n`]);

	const list = captureIo();
	t.is(auditListCommand(path, {json: true}, list.io), 0);
	t.deepEqual((JSON.parse(list.out.join('')) as {records: AuditRecord[]}).records, records);
	const one = captureIo();
	auditListCommand(path, {json: true, request: 'req-2'}, one.io);
	t.deepEqual((JSON.parse(one.out.join('')) as {records: AuditRecord[]}).records.map(record => record['n']), [2]);
});

test('`audit verify` names the file and line of a deleted rotated file, and exits 1', async t => {
	const {directory, path} = await writeRotatedLog(t);
	rmSync(join(directory, 'agent.jsonl.2'));
	const verify = captureIo();
	t.is(auditVerifyCommand(path, key.verifier, verify.io), 1);
	t.regex(verify.out.join(''), new RegExp(`^broken: ${join(directory, 'agent.jsonl.3')} line 1: missing file: agent.jsonl.3 continues agent.jsonl.2 \\(records up to \\d+, head [0-9a-f]{12}…\\), which is missing \\(the file before it here is agent.jsonl.1\\)\\n$`));
});

test('a crash between moving the full file aside and the first write of the new one: the next append continues the chain', async t => {
	const {directory, path} = await writeRotatedLog(t);
	// As if the writer died right after the rename: only rotated files, no current file.
	renameSync(path, join(directory, 'agent.jsonl.4'));
	const log = openAuditLog({path, side: 'agent', signer: key.signer, now: fakeClock('2026-01-14T11:00:00.000Z'), rotateBytes: 3000});
	await log.append({event: 'test.append', n: 20});
	await log.close();
	const [carry] = parseLines(fileLines(path));
	t.like(carry, {event: 'log.continued', previousFile: 'agent.jsonl.4'});
	t.like(verifyLogSet(readAuditSet(path), {verifier: key.verifier}), {ok: true, files: 5, warnings: []});
});

test('two processes appending at once across rotations keep one intact chain in one set of files', async t => {
	const directory = temporaryDirectory(t);
	const path = join(directory, 'agent.jsonl');
	const writers = await Promise.all(['a', 'b'].map(async writer => run(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'append-records.ts'), path, writer, '60', '4096'], {cwd: repository, env: {...process.env, XI_TEST_AUDIT_KEY: key.privatePem}})));
	t.deepEqual(writers.map(writer => writer.stdout), ['done\n', 'done\n']);
	const files = readAuditSet(path);
	// How many files depends on how the appends were batched into writes (timing); at least one rotation is the case.
	t.true(files.length >= 2, `${files.length} files`);
	t.like(verifyLogSet(files, {verifier: key.verifier}), {ok: true, files: files.length, warnings: []});
	const records = files.flatMap(file => parseLines(file.lines));
	for (const writer of ['a', 'b']) {
		t.deepEqual(records.filter(record => record['writer'] === writer).map(record => record['n']), Array.from({length: 60}, (_, n) => n), `writer ${writer}'s records, once each and in order`);
	}
});

// The table. The set: agent.jsonl.1 .2 .3 and agent.jsonl, as writeRotatedLog leaves it.

type Row = {
	title: string;
	tamper: (files: LogFile[]) => LogFile[];
	verdict: (files: LogFile[]) => SetVerdict | Partial<SetVerdict>;
	/** Compare only these fields (t.like) instead of the whole verdict. */
	like?: boolean;
};

const byName = (files: LogFile[], name: string) => files.find(file => file.name === name)!;
const recordsOf = (file: LogFile) => parseLines(file.lines);
const carryOf = (file: LogFile) => recordsOf(file)[0]! as AuditRecord & {previousHead: string; previousSize: number; previousBytes: number};
const countBefore = (files: LogFile[], name: string) => files.slice(0, files.findIndex(file => file.name === name)).reduce((total, file) => total + recordsOf(file).length, 0);

/** The file with its first record changed (hash recomputed when `rehash`), as canonical lines. */
function editCarry(file: LogFile, change: Record<string, unknown>, rehash: boolean): LogFile {
	const [first] = recordsOf(file);
	const edited = {...first!, ...change} as AuditRecord;
	if (rehash) {
		edited.hash = recordHash(withoutHash(edited));
	}

	return {...file, lines: [canonical(edited), ...file.lines.slice(1)], bytes: file.bytes};
}

const rows: Row[] = [
	{
		title: 'untouched: intact across four files',
		tamper: files => files,
		verdict: files => ({ok: true, files: 4, records: files.reduce((total, file) => total + recordsOf(file).length, 0), warnings: []}),
		like: true,
	},
	{
		title: 'the first file deleted',
		tamper: files => files.slice(1),
		verdict: files => ({ok: false, file: byName(files, 'agent.jsonl.2').label, line: 1, problem: 'missing file', detail: `agent.jsonl.2 continues agent.jsonl.1 (records up to ${carryOf(byName(files, 'agent.jsonl.2')).previousSize - 1}, head ${carryOf(byName(files, 'agent.jsonl.2')).previousHead.slice(0, 12)}…), which is missing`, records: 0}),
	},
	{
		title: 'a middle file deleted',
		tamper: files => files.filter(file => file.name !== 'agent.jsonl.2'),
		verdict: files => ({ok: false, file: byName(files, 'agent.jsonl.3').label, line: 1, problem: 'missing file', detail: `agent.jsonl.3 continues agent.jsonl.2 (records up to ${carryOf(byName(files, 'agent.jsonl.3')).previousSize - 1}, head ${carryOf(byName(files, 'agent.jsonl.3')).previousHead.slice(0, 12)}…), which is missing (the file before it here is agent.jsonl.1)`, records: countBefore(files, 'agent.jsonl.2')}),
	},
	{
		title: 'the current file deleted: intact alone (a cut tail, caught by --cross through the controller\'s witness)',
		tamper: files => files.slice(0, -1),
		verdict: files => ({ok: true, files: 3, records: countBefore(files, 'agent.jsonl'), warnings: []}),
		like: true,
	},
	{
		title: 'two rotated files swapped (contents exchanged, names kept)',
		tamper: files => files.map(file => (file.name === 'agent.jsonl.1' ? {...byName(files, 'agent.jsonl.2'), name: file.name, label: file.label} : file.name === 'agent.jsonl.2' ? {...byName(files, 'agent.jsonl.1'), name: file.name, label: file.label} : file)),
		verdict: files => ({ok: false, file: byName(files, 'agent.jsonl.1').label, line: 1, problem: 'files reordered', detail: `agent.jsonl.1 continues agent.jsonl.1 (records up to ${carryOf(byName(files, 'agent.jsonl.2')).previousSize - 1}, head ${carryOf(byName(files, 'agent.jsonl.2')).previousHead.slice(0, 12)}…), which does not come just before it: the files were renamed or reordered`, records: 0}),
	},
	{
		title: 'the carry-over edited (the previous file\'s name): its hash no longer matches',
		tamper: files => files.map(file => (file.name === 'agent.jsonl.3' ? editCarry(file, {previousFile: 'agent.jsonl.9'}, false) : file)),
		verdict: files => ({ok: false, file: byName(files, 'agent.jsonl.3').label, line: 1, problem: 'edited', detail: `record ${carryOf(byName(files, 'agent.jsonl.3')).seq}'s hash does not match its content`, records: countBefore(files, 'agent.jsonl.3')}),
	},
	{
		title: 'the carry-over edited (the previous file\'s name) and its hash recomputed: the next record\'s prev breaks',
		tamper: files => files.map(file => (file.name === 'agent.jsonl.3' ? editCarry(file, {previousFile: 'agent.jsonl.2 '}, true) : file)),
		verdict: files => ({ok: false, file: byName(files, 'agent.jsonl.3').label, line: 2, problem: 'chain broken', detail: `record ${carryOf(byName(files, 'agent.jsonl.3')).seq + 1} does not follow the record before it (prev hash differs)`, records: countBefore(files, 'agent.jsonl.3') + 1}),
	},
	{
		title: 'a carry-over alone in the last file, edited to name another file and its hash recomputed',
		tamper: files => files.map(file => (file.name === 'agent.jsonl' ? editCarry({...file, lines: file.lines.slice(0, 1)}, {previousFile: 'agent.jsonl.7'}, true) : file)),
		verdict: files => ({ok: false, file: byName(files, 'agent.jsonl').label, line: 1, problem: 'bad carry-over', detail: 'agent.jsonl says it continues agent.jsonl.7, but follows agent.jsonl.3', records: countBefore(files, 'agent.jsonl')}),
	},
	{
		title: 'the carry-over\'s stated head edited and its hash recomputed',
		tamper: files => files.map(file => (file.name === 'agent.jsonl.3' ? editCarry(file, {previousHead: 'f'.repeat(64)}, true) : file)),
		verdict: files => ({ok: false, file: byName(files, 'agent.jsonl.3').label, line: 1, problem: 'bad carry-over', detail: `the carry-over states head ffffffffffff… at size ${carryOf(byName(files, 'agent.jsonl.3')).seq}, but links to ${carryOf(byName(files, 'agent.jsonl.3')).prev.slice(0, 12)}… at ${carryOf(byName(files, 'agent.jsonl.3')).seq}`, records: countBefore(files, 'agent.jsonl.3')}),
	},
	{
		title: 'the carry-over\'s stated size in bytes edited and its hash recomputed',
		tamper: files => files.map(file => (file.name === 'agent.jsonl.3' ? editCarry(file, {previousBytes: 99}, true) : file)),
		verdict: files => ({ok: false, file: byName(files, 'agent.jsonl.3').label, line: 1, problem: 'bad carry-over', detail: `agent.jsonl.2 is ${byName(files, 'agent.jsonl.2').bytes} bytes, but agent.jsonl.3 says it was 99 when it rotated: one of them was changed`, records: countBefore(files, 'agent.jsonl.3')}),
	},
	{
		title: 'a rotated file\'s tail cut off (its sealing checkpoint included)',
		tamper: files => files.map(file => (file.name === 'agent.jsonl.2' ? {...file, lines: file.lines.slice(0, -1), bytes: file.bytes - Buffer.byteLength(file.lines.at(-1)!) - 1} : file)),
		verdict: files => ({ok: false, file: byName(files, 'agent.jsonl.3').label, line: 1, problem: 'bad carry-over', detail: `agent.jsonl.2 is ${byName(files, 'agent.jsonl.2').bytes - Buffer.byteLength(byName(files, 'agent.jsonl.2').lines.at(-1)!) - 1} bytes, but agent.jsonl.3 says it was ${byName(files, 'agent.jsonl.2').bytes} when it rotated: one of them was changed`, records: countBefore(files, 'agent.jsonl.3') - 1}),
	},
	{
		title: 'a line deleted in the middle of a rotated file',
		tamper: files => files.map(file => (file.name === 'agent.jsonl.2' ? {...file, lines: file.lines.filter((_, index) => index !== 2)} : file)),
		verdict: files => ({ok: false, file: byName(files, 'agent.jsonl.2').label, line: 3, problem: 'missing', detail: `expected record ${recordsOf(byName(files, 'agent.jsonl.2'))[2]!.seq}, found ${recordsOf(byName(files, 'agent.jsonl.2'))[3]!.seq}: 1 record(s) missing`, records: countBefore(files, 'agent.jsonl.2') + 2}),
	},
	{
		title: 'a later file without its carry-over line',
		tamper: files => files.map(file => (file.name === 'agent.jsonl' ? {...file, lines: file.lines.slice(1)} : file)),
		verdict: files => ({ok: false, file: byName(files, 'agent.jsonl').label, line: 1, problem: 'missing', detail: `expected record ${carryOf(byName(files, 'agent.jsonl')).seq}, found ${carryOf(byName(files, 'agent.jsonl')).seq + 1}: 1 record(s) missing`, records: countBefore(files, 'agent.jsonl')}),
	},
	{
		title: 'a carry-over line copied into the middle of a file',
		tamper: files => files.map(file => (file.name === 'agent.jsonl.2' ? {...file, lines: [...file.lines.slice(0, 2), byName(files, 'agent.jsonl.2').lines[0]!, ...file.lines.slice(2)]} : file)),
		verdict: files => ({ok: false, file: byName(files, 'agent.jsonl.2').label, line: 3, problem: 'duplicated', detail: `record ${carryOf(byName(files, 'agent.jsonl.2')).seq} appears twice`, records: countBefore(files, 'agent.jsonl.2') + 2}),
	},
];

for (const row of rows) {
	test(`tampered rotated log: ${row.title}`, async t => {
		const {path} = await writeRotatedLog(t);
		const files = readAuditSet(path);
		const verdict = verifyLogSet(row.tamper(files), {verifier: key.verifier});
		if (row.like) {
			t.like(verdict, row.verdict(files));
		} else {
			t.deepEqual(verdict, row.verdict(files) as SetVerdict);
		}
	});
}

test('the files on disk: the oldest file renamed past the others, as `audit verify` sees it', async t => {
	const {directory, path} = await writeRotatedLog(t);
	renameSync(join(directory, 'agent.jsonl.1'), join(directory, 'agent.jsonl.9'));
	const verify = captureIo();
	t.is(auditVerifyCommand(path, key.verifier, verify.io), 1);
	t.regex(verify.out.join(''), new RegExp(`^broken: ${join(directory, 'agent.jsonl.2')} line 1: missing file: agent.jsonl.2 continues agent.jsonl.1 .*, which is missing\\n$`));
});


test('the console\'s audit view reads the whole set: the most recent records of a request, and the verifier\'s status line', async t => {
	const {path} = await writeRotatedLog(t);
	const records = readAuditSet(path).flatMap(file => parseLines(file.lines));
	const view = auditView(path, key.verifier, {limit: 5});
	t.deepEqual(view, {records: records.slice(-5), matching: records.length, chain: {ok: true, text: `ok: ${records.length} records, chain intact, last checkpoint at ${records.at(-1)!.seq} (4 files)`, warnings: []}});
	t.deepEqual(auditView(path, key.verifier, {requestId: 'req-3', limit: 5}).records.map(record => record['n']), [3]);
	rmSync(`${path}.2`);
	t.like(auditView(path, key.verifier, {limit: 5}).chain, {ok: false});
	t.regex(auditView(path, key.verifier, {limit: 5}).chain.text, /^broken: .*agent\.jsonl\.3 line 1: missing file: /);
});
