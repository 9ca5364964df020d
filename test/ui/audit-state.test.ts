/** The audit screen's reducer: loading, scrolling within the records read, and leaving a run's filter. */
import test from 'ava';
import {chainRecord} from '../../source/audit/record.js';
import {initialAuditState, reduceAudit, shownRecords} from '../../source/ui/screens/audit/use-audit-state.js';

const records = Array.from({length: 10}, (_, seq) => chainRecord(seq === 0 ? undefined : {log: 'l', seq: seq - 1, hash: 'h'}, {log: 'l', side: 'controller', now: new Date(Date.UTC(2026, 0, 1, 0, 0, seq))}, {event: 'run.request', requestId: `r${seq}`}));
const view = {records, matching: 10, chain: {ok: true, text: 'ok: 10 records, chain intact, last checkpoint at none', warnings: []}};

test('loaded: the most recent records are shown, scrolled to the bottom', t => {
	const state = reduceAudit(initialAuditState(), {type: 'loaded', view});
	t.deepEqual(state, {loading: false, view, scroll: 0});
	t.deepEqual(shownRecords(state, 4).map(record => record.seq), [6, 7, 8, 9]);
});

test('scroll: up by rows until the oldest is shown, and no further; down back to the most recent', t => {
	let state = reduceAudit(initialAuditState(), {type: 'loaded', view});
	for (let step = 0; step < 9; step++) {
		state = reduceAudit(state, {type: 'scroll', delta: 1, rows: 4});
	}

	t.is(state.scroll, 6);
	t.deepEqual(shownRecords(state, 4).map(record => record.seq), [0, 1, 2, 3]);
	state = reduceAudit(state, {type: 'scroll', delta: -10, rows: 4});
	t.is(state.scroll, 0);
	t.is(reduceAudit(reduceAudit(initialAuditState(), {type: 'loaded', view}), {type: 'scroll', delta: 1, rows: 20}).scroll, 0, 'nothing to scroll when all fit');
});

test('a failed read keeps what was shown and says why; reading again clears it', t => {
	const failed = reduceAudit(reduceAudit(initialAuditState('r1'), {type: 'loaded', view}), {type: 'failed', reason: 'EACCES'});
	t.like(failed, {requestId: 'r1', loading: false, error: 'EACCES', view});
	t.deepEqual(reduceAudit(failed, {type: 'loaded', view}), {requestId: 'r1', loading: false, view, scroll: 0});
});

test('show-all leaves a run\'s filter, and does nothing without one', t => {
	t.deepEqual(reduceAudit(initialAuditState('r1'), {type: 'show-all'}), initialAuditState());
	const all = initialAuditState();
	t.is(reduceAudit(all, {type: 'show-all'}), all);
});
