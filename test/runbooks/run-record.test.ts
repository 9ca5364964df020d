import test from 'ava';
import {cancelPlace, foldRunbookRun, recordedOutcomes, runbookRunDocument, type RunbookRunLine} from '../../source/runbooks/run-record.js';
import type {StepOutcome} from '../../source/runbooks/step-outcome.js';

const header: RunbookRunLine = {type: 'runbook-run', id: 'b1', runbook: 'incident', file: 'runbooks/incident.yaml', fileSha256: 'ab', parameters: {site: 'london'}, caller: 'op@host', startedAt: '2026-01-01T00:00:00.000Z'};
const failedCheck: StepOutcome = {status: 'failed', requestId: 'r1', counts: {ok: 1, failed: 2}, hosts: {ok: ['web1'], failed: ['web2', 'web3']}, reason: '2 of 3 hosts failed, over maxFailures 0'};
const lines: RunbookRunLine[] = [
	header,
	{type: 'step-started', step: 'check', requestId: 'r1', at: '2026-01-01T00:00:01.000Z'},
	{type: 'step-finished', step: 'check', outcome: failedCheck, at: '2026-01-01T00:00:02.000Z'},
	{type: 'step-started', step: 'restart', requestId: 'r2', at: '2026-01-01T00:00:03.000Z'},
];

test('a record cut after a step started: the finished step and the one in flight', t => {
	const text = [...lines.map(line => JSON.stringify(line)), '{"type":"step-fin'];
	const record = foldRunbookRun(text)!;
	t.deepEqual(record.steps.map(step => [step.name, step.status, step.requestId]), [['check', 'failed', 'r1'], ['restart', 'running', 'r2']]);
	t.deepEqual([...recordedOutcomes(record).keys()], ['check']);
	const document = runbookRunDocument(record, false);
	t.is(document.status, 'interrupted');
	t.is(document.endedAt, null);
	t.deepEqual(document.steps[1], {name: 'restart', status: 'running', requestId: 'r2', startedAt: '2026-01-01T00:00:03.000Z', endedAt: null, counts: {}, hosts: {ok: [], failed: []}, reason: 'in flight when the controller stopped'});
	t.is(runbookRunDocument(record, true).status, 'running');
	t.is(runbookRunDocument(record, true).steps[1]!.reason, null);
});

test('an ended record has the end line\'s status and what did not run', t => {
	const ended: RunbookRunLine[] = [...lines, {type: 'step-finished', step: 'restart', outcome: {status: 'ok', requestId: 'r2', counts: {ok: 2}, hosts: {ok: ['web2', 'web3'], failed: []}}, at: '2026-01-01T00:00:04.000Z'}, {type: 'end', status: 'failed', reason: 'x', notRun: [{step: 'recheck', reason: 'x'}], at: '2026-01-01T00:00:05.000Z'}];
	const document = runbookRunDocument(foldRunbookRun(ended.map(line => JSON.stringify(line)))!);
	t.is(document.status, 'failed');
	t.deepEqual(document.notRun, [{step: 'recheck', reason: 'x'}]);
	t.deepEqual(document.steps.map(step => step.status), ['failed', 'ok']);
});

test('no header, no record', t => {
	t.is(foldRunbookRun(['{"type":"step-started"}']), undefined);
});

test('a cancelled record says who cancelled and where: during the steps in flight, or before the first not run', t => {
	const request: RunbookRunLine = {type: 'cancel-requested', by: 'alice@elsewhere', source: '10.0.0.9', at: '2026-01-01T00:00:03.500Z'};
	const during: RunbookRunLine[] = [...lines, request, {type: 'cancel-requested', by: 'bob@later', at: '2026-01-01T00:00:03.600Z'}, {type: 'step-finished', step: 'restart', outcome: {status: 'cancelled', requestId: 'r2', counts: {cancelled: 2}, hosts: {ok: [], failed: []}, reason: 'cancelled'}, at: '2026-01-01T00:00:04.000Z'}, {type: 'end', status: 'cancelled', reason: 'the runbook was cancelled', notRun: [{step: 'recheck', reason: 'the runbook was cancelled'}], at: '2026-01-01T00:00:05.000Z', cancelledBy: 'alice@elsewhere'}];
	t.deepEqual(runbookRunDocument(foldRunbookRun(during.map(line => JSON.stringify(line)))!).cancel, {by: 'alice@elsewhere', source: '10.0.0.9', requestedAt: '2026-01-01T00:00:03.500Z', during: ['restart'], before: null});
	const before: RunbookRunLine[] = [...lines.slice(0, 3), {type: 'cancel-requested', by: 'alice@elsewhere', at: '2026-01-01T00:00:02.500Z'}, {type: 'end', status: 'cancelled', reason: 'the runbook was cancelled', notRun: [{step: 'restart', reason: 'the runbook was cancelled'}], at: '2026-01-01T00:00:03.000Z', cancelledBy: 'alice@elsewhere'}];
	const document = runbookRunDocument(foldRunbookRun(before.map(line => JSON.stringify(line)))!);
	t.deepEqual(document.cancel, {by: 'alice@elsewhere', requestedAt: '2026-01-01T00:00:02.500Z', during: [], before: 'restart'});
	t.is(cancelPlace(document.cancel!), 'before step restart');
	// A local cancel (Ctrl-C) has no request line; a run not cancelled has no cancel.
	const local = [...lines, {type: 'end', status: 'cancelled', reason: 'the runbook was cancelled', notRun: [], at: '2026-01-01T00:00:05.000Z', cancelledBy: 'op@host'} satisfies RunbookRunLine];
	t.deepEqual(runbookRunDocument(foldRunbookRun(local.map(line => JSON.stringify(line)))!).cancel, {by: 'op@host', requestedAt: null, during: ['restart'], before: null});
	t.is(runbookRunDocument(foldRunbookRun(lines.map(line => JSON.stringify(line)))!).cancel, null);
});
