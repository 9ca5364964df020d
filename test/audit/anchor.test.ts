import test from 'ava';
import {checkAnchor, parseAnchor, type Anchor} from '../../source/audit/anchor.js';
import {chainRecord, type AuditRecord} from '../../source/audit/record.js';

const now = new Date('2026-01-14T10:00:00.000Z');
const records: AuditRecord[] = [];
for (let index = 0; index < 5; index++) {
	records.push(chainRecord(records.at(-1), {log: 'log-1', side: 'agent', now}, {event: 'test', n: index}));
}

const anchorAt = (seq: number): Anchor => ({version: 1, log: 'log-1', seq, hash: records[seq]!.hash, at: now.toISOString()});
const said = (seq: number) => `head.json says record ${seq} (hash ${records[seq]!.hash.slice(0, 12)}…) was written at ${now.toISOString()}`;

const cases: Array<{title: string; log: {exists: boolean; records: AuditRecord[]}; anchor: Anchor | string | undefined; verdict: ReturnType<typeof checkAnchor>}> = [
	{title: 'intact, anchored at its last record', log: {exists: true, records}, anchor: anchorAt(4), verdict: {ok: true, text: `anchored at record 4 (head.json, ${now.toISOString()})`}},
	{title: 'the log ahead of its anchor (records since the last checkpoint)', log: {exists: true, records}, anchor: anchorAt(2), verdict: {ok: true, text: `anchored at record 2 (head.json, ${now.toISOString()})`}},
	{title: 'no anchor, records', log: {exists: true, records}, anchor: undefined, verdict: {ok: true, text: 'not anchored: no head.json (written at each checkpoint; only the controller\'s witnessed heads anchor this log\'s tail)'}},
	{title: 'deleted', log: {exists: false, records: []}, anchor: anchorAt(4), verdict: {ok: false, problem: 'log deleted', text: `the log is missing, but ${said(4)}: it was deleted`}},
	{title: 'emptied', log: {exists: true, records: []}, anchor: anchorAt(4), verdict: {ok: false, problem: 'log emptied', text: `the log has no records, but ${said(4)}: it was emptied`}},
	{title: 'cut by one record', log: {exists: true, records: records.slice(0, 4)}, anchor: anchorAt(4), verdict: {ok: false, problem: 'log truncated', text: `the log ends at record 3, but ${said(4)}: record 4 at least was cut off`}},
	{title: 'cut by three records', log: {exists: true, records: records.slice(0, 2)}, anchor: anchorAt(4), verdict: {ok: false, problem: 'log truncated', text: `the log ends at record 1, but ${said(4)}: records 2–4 at least were cut off`}},
	{title: 'the anchored record rewritten', log: {exists: true, records: [...records.slice(0, 4), {...records[4]!, hash: 'f'.repeat(64)}]}, anchor: anchorAt(4), verdict: {ok: false, problem: 'log rewritten', text: `record 4 has hash ffffffffffff…, but ${said(4)}: it was rewritten`}},
	{title: 'another log in its place', log: {exists: true, records: records.map(record => ({...record, log: 'log-2'}))}, anchor: anchorAt(4), verdict: {ok: false, problem: 'log rewritten', text: `the log has no record 4 of log log-1, but ${said(4)}: it was replaced`}},
	{title: 'neither log nor anchor', log: {exists: false, records: []}, anchor: undefined, verdict: {ok: false, problem: 'not anchored', text: 'there is no log and no head.json: nothing is anchored (if this agent ever started, both were deleted)'}},
	{title: 'an empty log and no anchor', log: {exists: true, records: []}, anchor: undefined, verdict: {ok: false, problem: 'not anchored', text: 'the log has no records and there is no head.json: nothing is anchored (if this agent ever started, its log was emptied and the anchor deleted)'}},
	{title: 'an anchor that is not one', log: {exists: true, records}, anchor: 'it is not JSON', verdict: {ok: false, problem: 'anchor unreadable', text: 'head.json cannot be read as an anchor (it is not JSON)'}},
];

for (const c of cases) {
	test(c.title, t => {
		t.deepEqual(checkAnchor(c.log, c.anchor, 'head.json'), c.verdict);
	});
}

test('parseAnchor refuses what is not an anchor', t => {
	t.deepEqual(parseAnchor(anchorAt(1)), anchorAt(1));
	for (const bad of [null, 1, {}, {...anchorAt(1), version: 2}, {...anchorAt(1), seq: -1}, {...anchorAt(1), seq: 1.5}, {...anchorAt(1), hash: 'abc'}]) {
		t.is(parseAnchor(bad), 'it is not {"version": 1, "log", "seq", "hash", "at"}');
	}
});
