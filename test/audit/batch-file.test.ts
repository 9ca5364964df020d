/**
 * batch-file.ts's state after a batch: the file as the batch left it (`known`, inode and size),
 * which the next batch compares with the file's fstat to decide whether to read its tail again.
 * Since the size after an unrotated batch is worked out (the size before and the batch's bytes)
 * rather than fstat'ed again, these rows hold it to the file's real size: multi-byte text, a torn
 * tail the batch starts with a newline, a rotation, and another writer's line after ours.
 */
import {appendFileSync, closeSync, fstatSync, openSync, renameSync, statSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {writeBatchToFile, type WriterState} from '../../source/audit/batch-file.js';
import {emptyChain, type BatchItem, type RecordPorts} from '../../source/audit/batch-plan.js';
import {verifyLog} from '../../source/audit/verify.js';
import {nodeFs} from '../../source/io/durable-fs.js';
import {auditKey, fakeClock, fileLines, parseLines, temporaryDirectory} from './helpers.js';

const key = await auditKey('agent-key');

function ports(): RecordPorts {
	return {side: 'agent', now: fakeClock(), newLogId: () => 'log-1', signer: key.signer, checkpointEvery: 256};
}

/** The file's inode and size as `known` spells them. */
function real(path: string): string {
	const fd = openSync(path, 'r');
	try {
		const stats = fstatSync(fd);
		return `${stats.ino}:${stats.size}`;
	} finally {
		closeSync(fd);
	}
}

async function batch(path: string, state: WriterState, items: BatchItem[], rotateBytes = 64 * 1024 * 1024, recordPorts = ports()): Promise<WriterState> {
	const settled = await writeBatchToFile(path, state, items, {rotateBytes, fs: nodeFs, ports: recordPorts}).settle();
	return settled.state;
}

test('after each batch the writer knows the file\'s real inode and size: multi-byte text, a torn tail, a rotation', async t => {
	const directory = temporaryDirectory(t);
	const path = join(directory, 'audit.log');
	const recordPorts = ports();
	let state: WriterState = {chain: emptyChain, known: ''};
	state = await batch(path, state, [{event: 'test.append', n: 0, text: 'é, 😀, 監査, \u2028'}, 'checkpoint'], undefined, recordPorts);
	t.is(state.known, real(path));
	state = await batch(path, state, [{event: 'test.append', n: 1, text: 'ü'.repeat(300)}, {event: 'test.append', n: 2, text: '🔥'.repeat(100)}], undefined, recordPorts);
	t.is(state.known, real(path));

	// A line cut short (as by a crash): the next batch reads the tail, starts with a newline and a log.torn record.
	appendFileSync(path, '{"cut":"shö');
	const torn = await batch(path, {chain: state.chain, known: ''}, [{event: 'test.append', n: 3, text: 'ß'}], undefined, recordPorts);
	t.is(torn.known, real(path));
	t.true(parseLines(fileLines(path)).some(record => record.event === 'log.torn'));

	// Past the rotation size: the batch goes to a new file, whose size is the one it knows.
	const rotated = await batch(path, torn, [{event: 'test.append', n: 4, text: 'ñ'.repeat(50)}], 1, recordPorts);
	t.is(rotated.known, real(path));
	t.is(parseLines(fileLines(path))[0]?.event, 'log.continued');
	const after = await batch(path, rotated, [{event: 'test.append', n: 5, text: '∑'}], 64 * 1024 * 1024, recordPorts);
	t.is(after.known, real(path));
	t.like(verifyLog(fileLines(`${path}.1`), {verifier: key.verifier}), {ok: true});
});

test('a line another writer appended after this writer\'s batch is read before the next batch: the chain continues from it', async t => {
	const directory = temporaryDirectory(t);
	const path = join(directory, 'audit.log');
	const mine = ports();
	let state: WriterState = {chain: emptyChain, known: ''};
	state = await batch(path, state, [{event: 'test.append', writer: 'a', n: 0}], undefined, mine);
	t.is(state.known, real(path));

	// The other writer continues the same chain from the file's tail (as a second process does).
	const other = await batch(path, {chain: emptyChain, known: ''}, [{event: 'test.append', writer: 'b', n: 0, text: 'ö'}], undefined, ports());
	t.not(state.known, other.known);
	t.is(other.known, real(path));

	state = await batch(path, state, [{event: 'test.append', writer: 'a', n: 1}, 'checkpoint'], undefined, mine);
	t.is(state.known, real(path));
	const records = parseLines(fileLines(path));
	t.deepEqual(records.map(record => [record['writer'] ?? record.event, record.seq]), [['a', 0], ['b', 1], ['a', 2], ['checkpoint', 3]]);
	t.like(verifyLog(fileLines(path), {verifier: key.verifier}), {ok: true, warnings: []});
	t.is(statSync(path).size, Number(state.known.split(':')[1]));
});

test('a file replaced by one of the very size this writer knew is read again (the inode counts)', async t => {
	const directory = temporaryDirectory(t);
	const path = join(directory, 'audit.log');
	const mine = ports();
	let state: WriterState = {chain: emptyChain, known: ''};
	state = await batch(path, state, [{event: 'test.append', writer: 'a', n: 0}], undefined, mine);
	const size = statSync(path).size;
	// Another file of the same size in its place, holding no record: the chain starts again there.
	writeFileSync(`${path}.new`, `${'x'.repeat(size - 1)}\n`);
	renameSync(`${path}.new`, path);
	state = await batch(path, state, [{event: 'test.append', writer: 'a', n: 1}], undefined, mine);
	t.is(state.known, real(path));
	const records = parseLines(fileLines(path));
	t.deepEqual(records.map(record => [record['writer'], record.seq, record.prev]), [['a', 0, '0'.repeat(64)]]);
});
