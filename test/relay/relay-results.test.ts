/**
 * What the agent says when a controller asks for a relay request's status (agent/relay-results.ts):
 * a run's signed result, kept verbatim for the window; "running" while it runs; unknown otherwise.
 * And the file that keeps them over a restart (agent/relay-results-file.ts): bounded, 0600, and a
 * damaged one (torn, not ours, not a file) read as far as it can be, with the problem said.
 */
import {mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import test from 'ava';
import {nodeFs, type DurableFs} from '../../source/io/durable-fs.js';
import {RelayResults, type KeptResult} from '../../agent/relay-results.js';
import {parseResults, relayResultsFile, relayResultsMemory, resultLine} from '../../agent/relay-results-file.js';

const keepMs = 600_000;

test('an ended run answers with its signed result, exactly as sent', t => {
	const results = new RelayResults(keepMs);
	results.remember('req-00000001', '{"env":{},"sig":"AA=="}', 1000);
	t.deepEqual(results.status('req-00000001', false, 2000), {found: true, running: false, result: '{"env":{},"sig":"AA=="}'});
});

test('a running request is found, without a result', t => {
	t.deepEqual(new RelayResults(keepMs).status('req-00000002', true, 0), {found: true, running: true});
});

test('an unknown request is not found', t => {
	t.deepEqual(new RelayResults(keepMs).status('req-00000003', false, 0), {found: false, running: false});
});

test('a result is forgotten once the window has passed (its request would be refused as stale anyway)', t => {
	const results = new RelayResults(keepMs);
	results.remember('req-00000004', 'signed', 1000);
	t.true(results.status('req-00000004', false, 1000 + keepMs).found);
	t.false(results.status('req-00000004', false, 1001 + keepMs).found);
});

test('past the bound the oldest result goes first', t => {
	const results = new RelayResults(keepMs, 2);
	results.remember('req-0000000a', 'a', 1);
	results.remember('req-0000000b', 'b', 2);
	results.remember('req-0000000c', 'c', 3);
	t.deepEqual(['a', 'b', 'c'].map(name => results.status(`req-0000000${name}`, false, 4).result), [undefined, 'b', 'c']);
});

test('each result is handed to the memory as it is remembered, and restored after a restart within the window only', t => {
	const kept: KeptResult[] = [];
	const results = new RelayResults(keepMs, 10, {remember: entry => kept.push(entry)});
	results.remember('req-0000000d', 'd', 1000);
	t.deepEqual(kept, [{id: 'req-0000000d', text: 'd', at: 1000}]);
	const restarted = new RelayResults(keepMs);
	restarted.restore([{id: 'req-0000000e', text: 'e', at: 2000}, ...kept, {id: 'req-0000000f', text: 'old', at: 500 - keepMs}], 2000);
	t.deepEqual(restarted.entries(2000).map(entry => entry.id), ['req-0000000d', 'req-0000000e'], 'oldest first, the one past the window dropped');
	t.is(restarted.status('req-0000000d', false, 2000).result, 'd');
});

test('a memory that cannot keep a result throws, and the result is still answered from memory', t => {
	const results = new RelayResults(keepMs, 10, {remember() {
		throw new Error('ENOSPC');
	}});
	t.throws(() => {
		results.remember('req-00000010', 'kept', 1);
	}, {message: 'ENOSPC'});
	t.is(results.status('req-00000010', false, 2).result, 'kept');
});

const temporaryHome = () => mkdtempSync(join(tmpdir(), 'xi-exec-results-'));

test('the results file: appended per result, 0600, read back after a restart', t => {
	const home = temporaryHome();
	const first = relayResultsMemory(home, () => 1000);
	const results = new RelayResults(keepMs, 10, first.memory);
	t.deepEqual(first.load(results), {kept: 0});
	results.remember('req-00000011', '{"sig":"a"}', 1000);
	results.remember('req-00000012', '{"sig":"b"}', 1001);
	t.is(statSync(join(home, relayResultsFile)).mode & 0o777, 0o600);
	const again = new RelayResults(keepMs);
	t.deepEqual(relayResultsMemory(home, () => 2000).load(again), {kept: 2});
	t.is(again.status('req-00000012', false, 2000).result, '{"sig":"b"}');
});

test('the results file is compacted once it holds twice what is kept', t => {
	const home = temporaryHome();
	let now = 0;
	const kept = relayResultsMemory(home, () => now, 4);
	const results = new RelayResults(100, 10, kept.memory);
	kept.load(results);
	for (const at of [0, 1, 2, 200]) {
		now = at;
		results.remember(`req-0000001${at}`, `{"n":${at}}`, at);
	}

	const lines = readFileSync(join(home, relayResultsFile), 'utf8').trim().split('\n');
	t.deepEqual(lines.map(line => (JSON.parse(line) as KeptResult).id), ['req-0000001200'], 'the three past the window are gone');
});

/** nodeFs, saying what it does to the results file (opens, writes, fsyncs, closes; renames of a rewrite), and failing the writes `failWrites` says. */
function recordingFs(home: string, failWrites: () => boolean = () => false) {
	const steps: string[] = [];
	const name = (fd: number) => (fds.get(fd) === join(home, relayResultsFile) ? 'results' : 'other');
	const fds = new Map<number, string>();
	const fs: DurableFs = {
		...nodeFs,
		open(path, how, mode) {
			const fd = nodeFs.open(path, how, mode);
			fds.set(fd, path);
			steps.push(`open ${name(fd)}`);
			return fd;
		},
		write(fd, data) {
			if (failWrites()) {
				throw Object.assign(new Error('ENOSPC: no space left on device'), {code: 'ENOSPC'});
			}

			steps.push(`write ${name(fd)}`);
			return nodeFs.write(fd, data);
		},
		fsync(fd) {
			steps.push(`fsync ${name(fd)}`);
			nodeFs.fsync(fd);
		},
		close(fd) {
			steps.push(`close ${name(fd)}`);
			nodeFs.close(fd);
		},
		rename(from, to) {
			steps.push('rename');
			nodeFs.rename(from, to);
		},
	};
	return {fs, steps};
}

test('the results file is held open between appends: one open, each result written and fsynced before remember returns', t => {
	const home = temporaryHome();
	const {fs, steps} = recordingFs(home);
	const kept = relayResultsMemory(home, () => 1000, 1000, fs);
	const results = new RelayResults(keepMs, 10, kept.memory);
	kept.load(results);
	steps.length = 0;
	for (const n of [1, 2, 3]) {
		results.remember(`req-0000003${n}`, `{"n":${n}}`, 1000);
		t.is(steps.at(-1), 'fsync results', `result ${n} is on the disk when remember returns`);
	}

	t.deepEqual(steps, ['open results', 'write results', 'fsync results', 'write results', 'fsync results', 'write results', 'fsync results']);
	const again = new RelayResults(keepMs);
	t.deepEqual(relayResultsMemory(home, () => 1000).load(again), {kept: 3});
});

test('after a compaction (a new file under the name) the next result goes to the new file, not the old one held open', t => {
	const home = temporaryHome();
	let now = 0;
	const {fs, steps} = recordingFs(home);
	const kept = relayResultsMemory(home, () => now, 4, fs);
	const results = new RelayResults(100, 10, kept.memory);
	kept.load(results);
	for (const at of [0, 1, 2, 200, 201]) {
		now = at;
		results.remember(`req-0000004${at}`, `{"n":${at}}`, at);
	}

	const lines = readFileSync(join(home, relayResultsFile), 'utf8').trim().split('\n');
	t.deepEqual(lines.map(line => (JSON.parse(line) as KeptResult).id), ['req-0000004200', 'req-0000004201'], 'the result after the compaction is in the file');
	t.true(steps.indexOf('close results') < steps.lastIndexOf('rename'), 'the old file is closed before it is replaced');
	t.is(steps.filter(step => step === 'open results').length, 2, 'opened again once, after the compaction');
});

test('an append that fails is said to the caller, and the next one opens the file again', t => {
	const home = temporaryHome();
	let failing = false;
	const {fs, steps} = recordingFs(home, () => failing);
	const kept = relayResultsMemory(home, () => 1000, 1000, fs);
	const results = new RelayResults(keepMs, 10, kept.memory);
	kept.load(results);
	results.remember('req-00000051', '{"n":1}', 1000);
	failing = true;
	t.throws(() => {
		results.remember('req-00000052', '{"n":2}', 1000);
	}, {message: /ENOSPC/});
	failing = false;
	results.remember('req-00000053', '{"n":3}', 1000);
	t.is(steps.filter(step => step === 'open results').length, 2);
	const again = new RelayResults(keepMs);
	t.deepEqual(relayResultsMemory(home, () => 1000).load(again), {kept: 2});
});

const damagedCases: Array<{name: string; text: string; kept: number; problem: (path: string) => string}> = [
	{name: 'a torn last line', text: `${resultLine({id: 'req-00000020', text: '{"a":1}', at: 1000})}{"at":1000,"id":"req-000`, kept: 1, problem: path => `${path} holds 1 damaged line (torn by a crash, or not written by the agent): it is skipped, and the 1 readable result is kept`},
	{name: 'bytes that are not JSON', text: '\u0000\u00FF\n', kept: 0, problem: path => `${path} holds 1 damaged line (torn by a crash, or not written by the agent): it is skipped, and the 0 readable results are kept`},
	{name: 'JSON of the wrong shape', text: '{"at":"1","id":"req-00000021","text":"{}"}\n{"at":1,"id":"bad id","text":"{}"}\n[1]\nnull\n', kept: 0, problem: path => `${path} holds 4 damaged lines (torn by a crash, or not written by the agent): they are skipped, and the 0 readable results are kept`},
];

for (const each of damagedCases) {
	test(`a results file with ${each.name}: what can be read is kept, the problem said, the file rewritten sound`, t => {
		const home = temporaryHome();
		const path = join(home, relayResultsFile);
		writeFileSync(path, each.text, {mode: 0o644});
		const results = new RelayResults(keepMs);
		t.deepEqual(relayResultsMemory(home, () => 1000).load(results), {kept: each.kept, problem: each.problem(path)});
		t.deepEqual(parseResults(readFileSync(path, 'utf8')).damaged, 0, 'rewritten with what was kept');
		t.is(statSync(path).mode & 0o777, 0o600);
	});
}

test('a results file that is a directory: nothing is loaded, results are kept in memory only, said once', t => {
	const home = temporaryHome();
	const path = join(home, relayResultsFile);
	mkdirSync(path);
	const kept = relayResultsMemory(home, () => 1000);
	const results = new RelayResults(keepMs, 10, kept.memory);
	const loaded = kept.load(results);
	t.is(loaded.kept, 0);
	t.is(loaded.problem, `${path} cannot be read (EISDIR): the results kept before the restart are forgotten; ${path} cannot be written (EISDIR): results are kept in memory only until the agent restarts`);
	t.notThrows(() => {
		results.remember('req-00000022', '{}', 1000);
	}, 'no further complaint per result');
	t.is(results.status('req-00000022', false, 1000).result, '{}');
});
