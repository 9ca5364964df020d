/**
 * The order of the calls on the one write path for state files, recorded through an injected fs
 * port: data is fsynced before the rename that publishes it, the directory is fsynced after the
 * rename (or a new file's creation), and an audit append is fsynced before the caller's promise
 * resolves (before the action it records proceeds), once per batch.
 */
import {readFileSync, readdirSync, writeFileSync, statSync} from 'node:fs';
import {join} from 'node:path';
import test, {type ExecutionContext} from 'ava';
import {openAuditLog} from '../../source/audit/file-log.js';
import {appendDurable, renameDurable, writeFileDurable} from '../../source/io/durable-fs.js';
import {startRunFile} from '../../source/history/run-store.js';
import {auditKey, fakeClock, temporaryDirectory} from '../audit/helpers.js';
import {recordingFs} from './recording-fs.js';

const key = await auditKey('order-key');

const wholeFile = ['open-exclusive .state.json.TMP', 'write .state.json.TMP', 'chmod .state.json.TMP', 'fsync .state.json.TMP', 'close .state.json.TMP', 'rename .state.json.TMP state.json', 'open dir', 'fsync dir', 'close dir'];

const cases: Array<{name: string; run: (directory: string, fs: ReturnType<typeof recordingFs>, t: ExecutionContext) => Promise<void> | void; calls: string[]; check?: (directory: string, t: ExecutionContext) => void}> = [
	{
		name: 'a whole file: temp, fsync, rename, fsync the directory',
		run: (directory, fs) => {
			writeFileDurable(join(directory, 'state.json'), '{"a":1}\n', 0o600, fs);
		},
		calls: wholeFile,
		check(directory, t) {
			t.is(readFileSync(join(directory, 'state.json'), 'utf8'), '{"a":1}\n');
			t.is(statSync(join(directory, 'state.json')).mode & 0o777, 0o600);
		},
	},
	{
		name: 'replacing a file: the same order, the old content until the rename',
		run(directory, fs) {
			writeFileSync(join(directory, 'state.json'), 'old');
			writeFileDurable(join(directory, 'state.json'), 'new', 0o644, fs);
		},
		calls: wholeFile,
		check: (directory, t) => t.is(readFileSync(join(directory, 'state.json'), 'utf8'), 'new'),
	},
	{
		name: 'a short write: the temp file is removed, nothing is renamed, the directory is not touched',
		run(directory, fs, t) {
			fs.failWrite = true;
			t.throws(() => {
				writeFileDurable(join(directory, 'state.json'), 'new', 0o600, fs);
			}, {message: /^only 0 of 3 bytes were written$/});
		},
		calls: ['open-exclusive .state.json.TMP', 'write .state.json.TMP', 'close .state.json.TMP', 'remove .state.json.TMP'],
		check: (directory, t) => t.deepEqual(readdirSync(directory), []),
	},
	{
		name: 'a rename: then the directory',
		run(directory, fs) {
			writeFileSync(join(directory, 'next.pem'), 'x');
			renameDurable(join(directory, 'next.pem'), join(directory, 'agent.pem'), fs);
		},
		calls: ['rename next.pem agent.pem', 'open dir', 'fsync dir', 'close dir'],
	},
	{
		name: 'an append to a new file: write, fsync, then the directory',
		run(directory, fs) {
			appendDurable(join(directory, 'log'), 'line\n', {created: true}, fs);
		},
		calls: ['open-append log', 'write log', 'fsync log', 'close log', 'open dir', 'fsync dir', 'close dir'],
	},
	{
		name: 'run history: the header (and the file\'s name) and the end line fsynced, the lines between ride with the end, one descriptor for the run',
		run(directory, fs) {
			const writer = startRunFile(directory, {type: 'run', requestId: '00000000-0000-4000-8000-000000000001', script: 's', args: [], selector: [], caller: 'c', startedAt: '2026-01-01T00:00:00.000Z', targets: ['a']}, fs);
			writer.write({type: 'output', agent: 'a', stream: 'stdout', data: 'hi\n'});
			writer.write({type: 'result', result: {agent: 'a', status: 'ok', exitCode: 0, durationMs: 1} as never});
			writer.write({type: 'end', endedAt: '2026-01-01T00:00:01.000Z'});
		},
		calls: [
			...['open-append', 'write', 'fsync'].map(op => `${op} 2026-01-01T00-00-00.000Z_00000000-0000-4000-8000-000000000001.jsonl`), 'open dir', 'fsync dir', 'close dir',
			...['write', 'write', 'write', 'fsync', 'close'].map(op => `${op} 2026-01-01T00-00-00.000Z_00000000-0000-4000-8000-000000000001.jsonl`),
		],
		check(directory, t) {
			const [file] = readdirSync(directory);
			t.deepEqual(readFileSync(join(directory, file!), 'utf8').split('\n').map(line => line.slice(0, 16)), ['{"type":"run","r', '{"type":"output"', '{"type":"result"', '{"type":"end","e', '']);
		},
	},
	{
		name: 'audit: a batch is written and fsynced (and a new file\'s directory) before any append resolves',
		async run(directory, fs) {
			const log = openAuditLog({path: join(directory, 'audit.jsonl'), side: 'controller', signer: key.signer, now: fakeClock(), fs});
			await Promise.all([1, 2, 3].map(async n => log.append({event: 'test', n}).then(() => fs.calls.push(`resolved ${n}`))));
			await log.append({event: 'test', n: 4}).then(() => fs.calls.push('resolved 4'));
			await log.close();
		},
		calls: [
			'write fd', 'fsync fd', 'open dir', 'fsync dir', 'close dir', 'resolved 1', 'resolved 2', 'resolved 3',
			'write fd', 'fsync fd', 'resolved 4',
			'write fd', 'fsync fd',
		],
	},
	{
		name: 'audit: a record and a checkpoint asked together are one write and one fsync, the record first',
		async run(directory, fs) {
			const log = openAuditLog({path: join(directory, 'audit.jsonl'), side: 'controller', signer: key.signer, now: fakeClock(), fs});
			await log.append({event: 'first'});
			await log.checkpoint();
			fs.calls.length = 0;
			await Promise.all([log.append({event: 'request'}).then(() => fs.calls.push('resolved request')), log.checkpoint().then(() => fs.calls.push('resolved checkpoint'))]);
			await log.close();
		},
		calls: ['write fd', 'fsync fd', 'resolved request', 'resolved checkpoint'],
		check(directory, t) {
			const events = readFileSync(join(directory, 'audit.jsonl'), 'utf8').trim().split('\n').map(line => (JSON.parse(line) as {event: string}).event);
			t.deepEqual(events, ['first', 'checkpoint', 'request', 'checkpoint'], 'the request sealed at once; the close adds nothing');
		},
	},
	{
		name: 'audit rotation: the sealed file is fsynced before its rename, the directory after, then the new file',
		async run(directory, fs) {
			const path = join(directory, 'audit.jsonl');
			const setup = openAuditLog({path, side: 'controller', signer: key.signer, now: fakeClock(), rotateBytes: 4096});
			// Not closed: closing would write a checkpoint, which would itself rotate the file.
			await setup.append({event: 'fill', padding: 'x'.repeat(5000)});
			const log = openAuditLog({path, side: 'controller', signer: key.signer, now: fakeClock(), rotateBytes: 4096, fs});
			await log.append({event: 'next'});
			fs.calls.push('resolved');
			await log.close();
		},
		calls: ['write fd', 'fsync fd', 'rename audit.jsonl audit.jsonl.1', 'open dir', 'fsync dir', 'close dir', 'write fd', 'fsync fd', 'open dir', 'fsync dir', 'close dir', 'resolved', 'write fd', 'fsync fd'],
	},
];

for (const testCase of cases) {
	test(testCase.name, async t => {
		const directory = temporaryDirectory(t);
		const fs = recordingFs();
		await testCase.run(directory, fs, t);
		t.deepEqual(fs.calls, testCase.calls);
		testCase.check?.(directory, t);
	});
}
