import {appendFileSync, mkdtempSync, statSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import test from 'ava';
import {appendCancelRequest, findRunbookRun, hasRunbookRun, listRunbookRuns, startRunbookRecord, watchCancelRequest} from '../../source/runbooks/record-store.js';
import type {CancelRequestLine, RunbookRunHeader} from '../../source/runbooks/run-record.js';
import {recordingFs} from '../io/recording-fs.js';

const id = '0b7c5d7e-1111-4222-8333-944455556666';
const header: RunbookRunHeader = {type: 'runbook-run', id, runbook: 'incident', file: 'runbooks/incident.yaml', fileSha256: 'ab', parameters: {}, caller: 'op@host', startedAt: '2026-01-01T00:00:00.000Z'};

test('every line is fsynced before the step it records goes on; the record is running until closed', async t => {
	const directory = join(mkdtempSync(join(tmpdir(), 'xi-exec-runbooks-')), 'runbook-runs');
	const fs = recordingFs();
	const writer = await startRunbookRecord(directory, header, fs);
	writer.write({type: 'step-started', step: 'check', requestId: 'r1', at: '2026-01-01T00:00:01.000Z'});
	const name = `2026-01-01T00-00-00.000Z_${id}.jsonl`;
	t.deepEqual(fs.calls, [
		`open-append ${name}`, `write ${name}`, `fsync ${name}`, `close ${name}`, 'open dir', 'fsync dir', 'close dir',
		`open-append ${name}`, `write ${name}`, `fsync ${name}`, `close ${name}`,
	]);
	t.is(statSync(writer.path).mode & 0o777, 0o600);
	const stored = findRunbookRun(directory, id);
	t.true(stored.running);
	t.deepEqual(stored.record.steps.map(step => step.status), ['running']);
	await writer.close();
	t.false(findRunbookRun(directory, id).running);
	t.deepEqual(listRunbookRuns(directory).map(run => run.record.header.id), [id]);
});

test('an unknown id and a malformed one are refused with their codes', t => {
	const directory = mkdtempSync(join(tmpdir(), 'xi-exec-runbooks-'));
	t.throws(() => findRunbookRun(directory, id), {message: /^No runbook run 0b7c5d7e-1111-4222-8333-944455556666 in the history/});
	t.throws(() => findRunbookRun(directory, '../x'), {message: /is not a runbook run id/});
});

test('a cancel request appended by another writer is seen once, whole lines only', async t => {
	const directory = join(mkdtempSync(join(tmpdir(), 'xi-exec-runbooks-')), 'runbook-runs');
	const writer = await startRunbookRecord(directory, header);
	const seen: CancelRequestLine[] = [];
	const watch = watchCancelRequest(writer.path, request => seen.push(request), 60_000);
	try {
		writer.write({type: 'step-started', step: 'check', requestId: 'r1', at: '2026-01-01T00:00:01.000Z'});
		watch.check();
		t.deepEqual(seen, []);
		// Half a line (a write caught mid-way) is not read as a request until it is whole.
		const line = JSON.stringify({type: 'cancel-requested', by: 'alice@élsewhere', at: '2026-01-01T00:00:02.000Z'});
		const bytes = Buffer.from(line + '\n');
		const cut = bytes.indexOf('é') + 1;
		appendFileSync(writer.path, bytes.subarray(0, cut));
		watch.check();
		t.deepEqual(seen, []);
		appendFileSync(writer.path, bytes.subarray(cut));
		watch.check();
		t.deepEqual(seen, [{type: 'cancel-requested', by: 'alice@élsewhere', at: '2026-01-01T00:00:02.000Z'}]);
		appendCancelRequest(writer.path, {type: 'cancel-requested', by: 'bob@later', at: '2026-01-01T00:00:03.000Z'});
		watch.check();
		t.is(seen.length, 1);
		t.is(findRunbookRun(directory, id).record.cancelRequest?.by, 'alice@élsewhere');
		t.true(hasRunbookRun(directory, id));
		t.false(hasRunbookRun(directory, '0b7c5d7e-1111-4222-8333-000000000000'));
	} finally {
		watch.stop();
		await writer.close();
	}
});
