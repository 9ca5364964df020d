/** The audit log on disk: batched appends under a file lock, checkpoints, torn-tail recovery, fail closed. */
import {createHash} from 'node:crypto';
import {execFile, spawn} from 'node:child_process';
import {appendFileSync, existsSync, readFileSync, statSync, truncateSync} from 'node:fs';
import {join} from 'node:path';
import {setTimeout as delay} from 'node:timers/promises';
import {promisify} from 'node:util';
import test from 'ava';
import {crossVerify} from '../../source/audit/cross-verify.js';
import {openAuditLog} from '../../source/audit/file-log.js';
import {argsHash, canonical, type AuditRecord} from '../../source/audit/record.js';
import {verifyLog} from '../../source/audit/verify.js';
import {XiError} from '../../source/errors.js';
import {auditKey, fakeClock, fileLines, parseLines, temporaryDirectory} from './helpers.js';

const run = promisify(execFile);
const key = await auditKey('agent-key');
const controllerKey = await auditKey('controller-key');
const fixtures = join(import.meta.dirname, 'fixtures');
const repository = join(import.meta.dirname, '..', '..');

const randomPause = async () => delay(Math.floor(Math.random() * 3));

test('200 parallel appends to one log leave 200 well-formed chained records and 4 checkpoints, which verify', async t => {
	const directory = temporaryDirectory(t);
	const log = openAuditLog({path: join(directory, 'audit.log'), side: 'agent', signer: key.signer, checkpointEvery: 50});
	const appended = await Promise.all(Array.from({length: 200}, async (_, n) => {
		await randomPause();
		return log.append({event: 'test.append', n});
	}));
	await log.close();
	const lines = fileLines(log.path);
	const records = parseLines(lines);
	t.deepEqual(verifyLog(lines, {verifier: key.verifier}), {
		ok: true,
		records: 204,
		lastCheckpoint: 203,
		head: {seq: 203, hash: records[203]!.hash},
		warnings: [],
		checkpoints: records.filter(record => record.event === 'checkpoint').map(record => ({seq: record.seq, hash: record.hash})),
	});
	t.deepEqual(records.filter(record => record.event === 'checkpoint').map(record => record.seq), [50, 101, 152, 203]);
	t.deepEqual(records.filter(record => record.event === 'test.append').map(record => record['n']).sort((a, b) => Number(a) - Number(b)), Array.from({length: 200}, (_, n) => n));
	t.deepEqual(appended.map(record => lines[record.seq]), appended.map(record => canonical(record)));
});

test('200 parallel requests leave 200 complete, chained record sets on both sides, which verify and agree', async t => {
	const directory = temporaryDirectory(t);
	const controller = openAuditLog({path: join(directory, 'controller.log'), side: 'controller', signer: controllerKey.signer, checkpointEvery: 50});
	const agent = openAuditLog({path: join(directory, 'agent.log'), side: 'agent', signer: key.signer, checkpointEvery: 50});
	await Promise.all(Array.from({length: 200}, async (_, index) => {
		const requestId = `req-${index}`;
		const args = ['--n', String(index)];
		await randomPause();
		await controller.append({event: 'run.request', requestId, args, argsHash: argsHash(args), targets: ['web1']});
		await agent.append({event: 'run.received', requestId, controllerHead: controller.signedHead()});
		await randomPause();
		await agent.append({event: 'run.finish', requestId, argsHash: argsHash(args), status: 'ok'});
		await controller.append({event: 'run.outcome', requestId, agent: 'web1', status: 'ok', agentHead: agent.signedHead()});
	}));
	await Promise.all([controller.close(), agent.close()]);

	for (const [log, signer] of [[controller, controllerKey], [agent, key]] as const) {
		const lines = fileLines(log.path);
		const records = parseLines(lines);
		// 400 records and a checkpoint after every 50: 8 checkpoints, the last one at the very end.
		t.like(verifyLog(lines, {verifier: signer.verifier}), {ok: true, records: 408, lastCheckpoint: 407, warnings: []});
		t.is(lines.length, 409);
		t.deepEqual(records.map(record => record.seq), Array.from({length: 408}, (_, index) => index));
		const byRequest = new Map<string, string[]>();
		for (const record of records.filter(item => item.event !== 'checkpoint')) {
			byRequest.set(record['requestId'] as string, [...(byRequest.get(record['requestId'] as string) ?? []), record.event]);
		}

		t.is(byRequest.size, 200);
		const expected = log === controller ? ['run.request', 'run.outcome'] : ['run.received', 'run.finish'];
		t.deepEqual([...byRequest.values()].filter(events => events.join() !== expected.join()), []);
	}

	t.deepEqual(crossVerify(parseLines(fileLines(controller.path)), [{agent: 'web1', records: parseLines(fileLines(agent.path))}]), []);
});

test('each append resolves with the record written at its place in the file', async t => {
	const directory = temporaryDirectory(t);
	const log = openAuditLog({path: join(directory, 'audit.log'), side: 'agent', signer: key.signer, now: fakeClock(), checkpointEvery: 3});
	const appended = await Promise.all(Array.from({length: 7}, async (_, n) => log.append({event: 'test.append', n})));
	await log.close();
	const records = parseLines(fileLines(log.path));
	t.deepEqual(records.map(record => record.event), ['test.append', 'test.append', 'test.append', 'checkpoint', 'test.append', 'test.append', 'test.append', 'checkpoint', 'test.append', 'checkpoint']);
	t.deepEqual(appended, records.filter(record => record.event === 'test.append'));
	t.deepEqual(log.head(), {log: records[0]!.log, seq: 9, hash: records[9]!.hash});
	t.deepEqual(log.signedHead(), {log: records[0]!.log, seq: 9, hash: records[8]!.hash, signature: records[9]!['signature'], keyId: 'agent-key'});
});

test('a hostile argument cannot forge a line', async t => {
	const directory = temporaryDirectory(t);
	const log = openAuditLog({path: join(directory, 'audit.log'), side: 'agent', signer: key.signer, now: fakeClock()});
	const forged = '{"event":"run.finish","requestId":"req-1","status":"ok","v":1}';
	const hostile = ['a\nb', `x\n${forged}\n`, '\r\u001B[2J\u001B]0;pwned\u0007', '\u2028\u2029\u0085', '\u0000', '"},"event":"forged', '\\'];
	await log.append({event: 'run.request', requestId: 'req-1', args: hostile, caller: 'mallory\n{"event":"x"}'});
	await log.close();
	const text = readFileSync(log.path, 'utf8');
	const lines = text.split('\n');
	t.is(lines.length, 3, 'two records (the request and the closing checkpoint) and the final newline');
	t.false(/[\r\u001B\u0000\u0007]/.test(text), 'no raw control character in the file');
	t.deepEqual(parseLines(lines).map(record => record.event), ['run.request', 'checkpoint']);
	const [request] = parseLines(lines);
	t.deepEqual(request!['args'], hostile);
	t.is(request!['caller'], 'mallory\n{"event":"x"}');
	t.like(verifyLog(lines, {verifier: key.verifier}), {ok: true, records: 2, warnings: []});
});

test('the log file is created with mode 0600', async t => {
	const directory = temporaryDirectory(t);
	const log = openAuditLog({path: join(directory, 'audit.log'), side: 'agent', signer: key.signer});
	await log.append({event: 'test.append'});
	await log.close();
	t.is(statSync(log.path).mode & 0o777, 0o600);
});

test('a new log continues the chain after a torn last line, and verify warns', async t => {
	const directory = temporaryDirectory(t);
	const path = join(directory, 'audit.log');
	const first = openAuditLog({path, side: 'agent', signer: key.signer, now: fakeClock()});
	for (let n = 0; n < 3; n++) {
		await first.append({event: 'test.append', n});
	}

	// A crash in the middle of the next write.
	appendFileSync(path, '{"event":"test.append","log":"');
	const second = openAuditLog({path, side: 'agent', signer: key.signer, now: fakeClock('2026-01-14T11:00:00.000Z')});
	const next = await second.append({event: 'test.append', n: 3});
	await second.close();
	const lines = fileLines(path);
	// The writer says in the chain that it found the last line cut short: its length and hash.
	t.like(parseLines(lines)[3], {seq: 3, event: 'log.torn', bytes: 30, sha256: createHash('sha256').update('{"event":"test.append","log":"').digest('hex'), prev: parseLines(lines)[2]!.hash});
	t.like(next, {seq: 4, prev: parseLines(lines)[3]!.hash, log: parseLines(lines)[0]!.log});
	t.is(lines[3], '{"event":"test.append","log":"');
	t.like(verifyLog(lines, {verifier: key.verifier}), {ok: true, records: 6, lastCheckpoint: 5, warnings: ['line 4: a write cut short (a crash, a full disk or a file size limit; its caller was refused), recorded by the writer in record 3; the chain continues after it']});
});

test('a new log keeps a last record whose newline a crash cut off', async t => {
	const directory = temporaryDirectory(t);
	const path = join(directory, 'audit.log');
	const first = openAuditLog({path, side: 'agent', signer: key.signer, now: fakeClock()});
	for (let n = 0; n < 3; n++) {
		await first.append({event: 'test.append', n});
	}

	truncateSync(path, statSync(path).size - 1);
	const second = openAuditLog({path, side: 'agent', signer: key.signer, now: fakeClock('2026-01-14T11:00:00.000Z')});
	t.like(await second.append({event: 'test.append', n: 3}), {seq: 3});
	await second.close();
	t.like(verifyLog(fileLines(path), {verifier: key.verifier}), {ok: true, records: 5, lastCheckpoint: 4, warnings: []});
});

test('a new log continues after a last record larger than the 256 KiB it reads back first', async t => {
	const directory = temporaryDirectory(t);
	const path = join(directory, 'audit.log');
	const first = openAuditLog({path, side: 'agent', signer: key.signer, now: fakeClock()});
	await first.append({event: 'test.append', n: 0});
	await first.append({event: 'test.append', n: 1, reason: 'x'.repeat(600 * 1024)});
	const second = openAuditLog({path, side: 'agent', signer: key.signer, now: fakeClock('2026-01-14T11:00:00.000Z')});
	t.like(await second.append({event: 'test.append', n: 2}), {seq: 2});
	await second.close();
	t.like(verifyLog(fileLines(path), {verifier: key.verifier}), {ok: true, records: 4, lastCheckpoint: 3, warnings: []});
});

test('two logs on one file (as two processes) appending at once keep one intact chain', async t => {
	const directory = temporaryDirectory(t);
	const path = join(directory, 'audit.log');
	const logs = ['a', 'b'].map(writer => ({writer, log: openAuditLog({path, side: 'agent', signer: key.signer, checkpointEvery: 16})}));
	await Promise.all(logs.map(async ({writer, log}) => {
		const appends: Array<Promise<unknown>> = [];
		for (let n = 0; n < 60; n++) {
			appends.push(log.append({event: 'test.append', writer, n}));
			if (n % 3 === 2) {
				await randomPause();
			}
		}

		await Promise.all(appends);
	}));
	await Promise.all(logs.map(async ({log}) => log.close()));
	const lines = fileLines(path);
	const records = parseLines(lines);
	const verdict = verifyLog(lines, {verifier: key.verifier});
	t.like(verdict, {ok: true, warnings: []});
	t.is(new Set(records.map(record => record.log)).size, 1);
	for (const writer of ['a', 'b']) {
		t.deepEqual(records.filter(record => record['writer'] === writer).map(record => record['n']), Array.from({length: 60}, (_, n) => n), `writer ${writer}'s records, once each and in order`);
	}

	t.is(records.filter(record => record.event === 'checkpoint').length, records.length - 120);
});

test('two processes appending to one file at once keep one intact chain', async t => {
	const directory = temporaryDirectory(t);
	const path = join(directory, 'audit.log');
	const [a, b] = await Promise.all(['a', 'b'].map(async writer => run(process.execPath, ['--import', 'tsx', join(fixtures, 'append-records.ts'), path, writer, '100'], {cwd: repository, env: {...process.env, XI_TEST_AUDIT_KEY: key.privatePem}})));
	t.is(a!.stdout, 'done\n');
	t.is(b!.stdout, 'done\n');
	const lines = fileLines(path);
	const records = parseLines(lines);
	t.like(verifyLog(lines, {verifier: key.verifier}), {ok: true, warnings: []});
	for (const writer of ['a', 'b']) {
		t.deepEqual(records.filter(record => record['writer'] === writer).map(record => record['n']), Array.from({length: 100}, (_, n) => n));
	}

	t.is(statSync(path).mode & 0o777, 0o600);
});

const hasPrlimit = existsSync('/usr/bin/prlimit');

(hasPrlimit ? test : test.skip)('a full disk (a file size limit): the append that cannot be written fails, nothing is acted on, and the chain continues once there is room', async t => {
	const directory = temporaryDirectory(t);
	const path = join(directory, 'audit.log');
	// 8 KiB: the limit cuts a write in the middle, which write() reports only as a short count.
	const child = spawn('bash', ['-c', 'ulimit -S -f 8 && exec "$0" "$@"', process.execPath, '--import', 'tsx', join(fixtures, 'append-until-full.ts'), path], {cwd: repository, env: {...process.env, XI_TEST_AUDIT_KEY: key.privatePem}, stdio: ['pipe', 'pipe', 'inherit']});
	let output = '';
	child.stdout.setEncoding('utf8');
	child.stdout.on('data', (chunk: string) => {
		output += chunk;
	});
	let exitCode: number | null | undefined;
	const exited = new Promise<number | null>(resolve => child.once('exit', code => {
		exitCode = code;
		resolve(code);
	}));
	while (!output.includes('waiting\n') && exitCode === undefined) {
		await delay(20);
	}

	t.is(exitCode, undefined, `the writer died: ${output}`);

	await run('prlimit', ['--pid', String(child.pid), '--fsize=unlimited:']);
	child.stdin.end('go\n');
	t.is(await exited, 0);
	const said = output.trim().split('\n');
	const failures = said.filter(line => line.startsWith('failed'));
	const succeeded = said.filter(line => line.startsWith('ok')).length;
	t.is(failures.length, 2);
	t.regex(failures[0]!, new RegExp(`^failed ${succeeded - 3} AUDIT_UNAVAILABLE Cannot write the audit log .* \\(only \\d+ of \\d+ bytes were written\\); refusing to act without a record\\.$`));
	t.regex(failures[1]!, /^failed \d+ AUDIT_UNAVAILABLE Cannot write the audit log .* \(EFBIG\); refusing to act without a record\.$/);
	t.is(said.at(-1), 'closed');
	const lines = fileLines(path);
	// Every record the writer was told is written is in the file, chained, and the cut write shows as a torn line.
	const written = succeeded - 3;
	t.like(verifyLog(lines, {verifier: key.verifier}), {ok: true, records: succeeded + 2, warnings: [`line ${written + 1}: a write cut short (a crash, a full disk or a file size limit; its caller was refused), recorded by the writer in record ${written}; the chain continues after it`]});
	t.deepEqual(parseLines(lines).filter(record => record.event === 'test.append').map(record => record['n']), [...Array.from({length: written}, (_, n) => n), written + 2, written + 3, written + 4]);
});

test('a record canonical JSON refuses (a lone surrogate) fails alone, not the records batched with it', async t => {
	const directory = temporaryDirectory(t);
	const log = openAuditLog({path: join(directory, 'audit.log'), side: 'agent', signer: key.signer, now: fakeClock()});
	const [before, hostile, after] = await Promise.allSettled([
		log.append({event: 'run.request', requestId: 'req-1'}),
		log.append({event: 'run.request', requestId: 'req-2', args: ['\ud800']}),
		log.append({event: 'run.request', requestId: 'req-3'}),
	]);
	await log.close();
	t.like(before, {status: 'fulfilled', value: {seq: 0, requestId: 'req-1'}});
	t.like(after, {status: 'fulfilled', value: {seq: 1, requestId: 'req-3'}});
	t.is(hostile?.status, 'rejected');
	t.like((hostile as PromiseRejectedResult).reason, {code: 'AUDIT_UNAVAILABLE', message: `Cannot write the audit log ${log.path} (Lone surrogate is not allowed); refusing to act without a record.`});
	t.like(verifyLog(fileLines(log.path), {verifier: key.verifier}), {ok: true, records: 3, lastCheckpoint: 2, warnings: []});
});

test('a record that cannot be written rejects the append (fail closed)', async t => {
	const directory = temporaryDirectory(t);
	const log = openAuditLog({path: join(directory, 'missing', 'audit.log'), side: 'agent', signer: key.signer});
	const error = await t.throwsAsync(log.append({event: 'run.request', requestId: 'req-1'}), {instanceOf: XiError});
	t.is(error?.code, 'AUDIT_UNAVAILABLE');
	t.is(error?.message, `Cannot write the audit log ${join(directory, 'missing', 'audit.log')} (ENOENT); refusing to act without a record.`);
	await log.close();
});

test('every record written is forwarded, automatic checkpoints included', async t => {
	const directory = temporaryDirectory(t);
	const forwarded: AuditRecord[] = [];
	const log = openAuditLog({path: join(directory, 'audit.log'), side: 'agent', signer: key.signer, now: fakeClock(), checkpointEvery: 3, forward: record => forwarded.push(record)});
	await Promise.all(Array.from({length: 7}, async (_, n) => log.append({event: 'test.append', n})));
	await log.close();
	t.deepEqual(forwarded, parseLines(fileLines(log.path)));
	t.deepEqual(forwarded.map(record => record.event).filter(event => event === 'checkpoint').length, 3);
});

test('a forwarder that throws fails no append', async t => {
	const directory = temporaryDirectory(t);
	const log = openAuditLog({path: join(directory, 'audit.log'), side: 'agent', signer: key.signer, forward() {
		throw new Error('the collector exploded');
	}});
	const record = await log.append({event: 'run.request', requestId: 'req-1'});
	await log.close();
	t.deepEqual(parseLines(fileLines(log.path))[0], record);
});
