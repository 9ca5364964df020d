/**
 * The audit batch planner as tables: the file as found (unchanged, changed, torn, at its rotation
 * size) → what is written before and after a rotation and the state after; a new file's
 * carry-over; a batch's records and checkpoints, and a record that fails alone. Plain values, no
 * files: batch-failures.test.ts checks what the writer does with a plan when the disk fails.
 */
import {createHash} from 'node:crypto';
import test from 'ava';
import {emptyChain, planCarryOver, planOpen, planRecords, type BatchPlan, type ChainState, type FileTail, type RecordPorts} from '../../source/audit/batch-plan.js';
import {genesisHash, tornLineHash, type AuditRecord, type ChainHead} from '../../source/audit/record.js';

const signer = {keyId: 'k1', sign: (data: Buffer) => createHash('sha256').update(data).digest('hex')};
const ports = (checkpointEvery = 256): RecordPorts => ({side: 'agent', now: () => new Date('2026-01-14T10:00:00.000Z'), newLogId: () => 'log-new', signer, checkpointEvery});
const head: ChainHead = {log: 'log-a', seq: 4, hash: 'a'.repeat(64)};
const inMemory: ChainState = {head, signed: undefined, sinceCheckpoint: 3, sealed: false};
const parse = (text: string) => text.split('\n').filter(line => line !== '').map(line => JSON.parse(line) as AuditRecord);
/** A plan's text as `\n` (a torn line's end) and events, for the tables. */
const shape = (text: string | undefined) => text === undefined ? 'nothing' : `${text.startsWith('\n') ? '\\n ' : ''}${parse(text).map(record => record.event).join(' ')}`.trim();

const opens: Array<{title: string; state: ChainState; size: number; tail?: FileTail; rotate: boolean; seal?: string; text: string; after: Partial<ChainState>}> = [
	{title: 'unchanged since this log wrote it: the head in memory is the tail', state: inMemory, size: 100, rotate: false, text: '', after: {head, sealed: false, sinceCheckpoint: 3}},
	{title: 'changed by another writer: the chain continues from the file\'s tail', state: inMemory, size: 100, tail: {head: {...head, seq: 9}, lastEvent: 'checkpoint', torn: false}, rotate: false, text: '', after: {head: {...head, seq: 9}, sealed: true}},
	{title: 'a line cut short: a newline, then the cut is recorded', state: inMemory, size: 100, tail: {head, lastEvent: 'run.request', torn: true, tornLine: '{"event":"ru'}, rotate: false, text: '\\n log.torn', after: {sealed: false, sinceCheckpoint: 3}},
	{title: 'a last record without its newline: the newline only', state: inMemory, size: 100, tail: {head, lastEvent: 'run.request', torn: true}, rotate: false, text: '\\n', after: {head}},
	{title: 'at its size, unsealed: sealed with a checkpoint written alone, then rotated', state: inMemory, size: 1000, rotate: true, seal: 'checkpoint', text: '', after: {sealed: true, sinceCheckpoint: 0}},
	{title: 'at its size, its last record a checkpoint: rotated without a second seal', state: inMemory, size: 1000, tail: {head, lastEvent: 'checkpoint', torn: false}, rotate: true, seal: 'nothing', text: '', after: {sealed: true}},
	{title: 'at its size with a torn tail: the seal records the cut first', state: inMemory, size: 1000, tail: {head, lastEvent: 'run.request', torn: true, tornLine: '{"ev'}, rotate: true, seal: '\\n log.torn checkpoint', text: '', after: {sealed: true, sinceCheckpoint: 0}},
	{title: 'at its size without a record (foreign lines only): not rotated', state: emptyChain, size: 1000, tail: {head: undefined, torn: false}, rotate: false, text: '', after: {head: undefined}},
];

for (const row of opens) {
	test(`open: ${row.title}`, t => {
		const opened = planOpen(row.state, {size: row.size, ...(row.tail ? {tail: row.tail} : {})}, 1000, ports());
		t.is(opened.rotate, row.rotate);
		t.is(opened.rotate ? shape(opened.seal) : undefined, row.seal);
		t.is(shape(opened.plan.text), row.text);
		t.like(opened.plan.state, row.after);
	});
}

test('open: the cut line is recorded by its length and hash, chained after the tail', t => {
	const {plan} = planOpen(inMemory, {size: 100, tail: {head, lastEvent: 'x', torn: true, tornLine: '{"event":"ru'}}, 1000, ports());
	t.like(parse(plan.text)[0], {event: 'log.torn', bytes: 12, sha256: tornLineHash('{"event":"ru'), seq: 5, prev: head.hash, log: 'log-a'});
	t.deepEqual(plan.written, parse(plan.text));
});

test('open: the seal signs the chain up to it, and is remembered as the signed head', t => {
	const opened = planOpen(inMemory, {size: 1000}, 1000, ports());
	t.true(opened.rotate);
	const [seal] = parse(opened.rotate ? opened.seal ?? '' : '');
	t.like(seal, {event: 'checkpoint', seq: 5, size: 5, head: head.hash, keyId: 'k1'});
	t.like(opened.plan.state.signed, {log: 'log-a', seq: 5, hash: head.hash, keyId: 'k1', signature: seal?.['signature'] as string});
	t.deepEqual(opened.plan.written, [seal]);
});

const fresh: BatchPlan = {state: emptyChain, text: '', written: []};

test('carry-over: a new file names the newest rotated file and continues its chain', t => {
	const plan = planCarryOver(fresh, {name: 'agent.jsonl.3', head, bytes: 4096}, ports());
	const [carry] = parse(plan.text);
	t.like(carry, {event: 'log.continued', previousFile: 'agent.jsonl.3', previousHead: head.hash, previousSize: 5, previousBytes: 4096, seq: 5, prev: head.hash, log: 'log-a'});
	t.like(plan.state, {head: {log: 'log-a', seq: 5}, sinceCheckpoint: 1, sealed: false});
});

test('carry-over: without a rotated file, a new log begins', t => {
	const plan = planCarryOver({...fresh, state: inMemory}, undefined, ports());
	t.is(plan.text, '');
	t.is(plan.state.head, undefined);
	const [first] = planRecords(plan, [{event: 'run.request'}], ports()).written;
	t.like(first, {log: 'log-new', seq: 0, prev: genesisHash});
});

const batches: Array<{title: string; state: ChainState; batch: Array<Record<string, unknown> & {event: string} | 'checkpoint'>; every: number; events: string; results: string[]; since: number}> = [
	{title: 'records, and a checkpoint after every `checkpointEvery`', state: emptyChain, batch: [{event: 'a'}, {event: 'b'}, {event: 'c'}], every: 2, events: 'a b checkpoint c', results: ['a', 'b', 'c'], since: 1},
	{title: 'a checkpoint asked after records', state: emptyChain, batch: [{event: 'a'}, 'checkpoint'], every: 256, events: 'a checkpoint', results: ['a', 'checkpoint'], since: 0},
	{title: 'a checkpoint asked on a new, empty log signs the empty chain', state: emptyChain, batch: ['checkpoint'], every: 256, events: 'checkpoint', results: ['checkpoint'], since: 0},
	{title: 'a checkpoint asked when nothing came since the last: nothing is written', state: {...inMemory, sinceCheckpoint: 0, signed: {...head, signature: 's', keyId: 'k1'}}, batch: ['checkpoint'], every: 256, events: '', results: ['(the head)'], since: 0},
	{title: 'a record canonical JSON refuses fails alone', state: emptyChain, batch: [{event: 'a'}, {event: 'b', args: ['\ud800']}, {event: 'c'}], every: 256, events: 'a c', results: ['a', 'Error: Lone surrogate is not allowed', 'c'], since: 2},
];

for (const row of batches) {
	test(`records: ${row.title}`, t => {
		const plan = planRecords({...fresh, state: row.state}, row.batch, ports(row.every));
		t.is(shape(plan.text), row.events);
		t.deepEqual(plan.results.map(result => (result instanceof Error ? `Error: ${result.message}` : result.event ?? '(the head)')), row.results);
		t.is(plan.state.sinceCheckpoint, row.since);
		const records = parse(plan.text);
		t.deepEqual(records.map(record => record.seq), records.map((_, index) => (row.state.head ? row.state.head.seq + 1 : 0) + index), 'sequence numbers have no gap');
	});
}

test('planning changes nothing it was given', t => {
	const state: ChainState = {...inMemory};
	const before = structuredClone(state);
	const opened = planOpen(state, {size: 1000, tail: {head, lastEvent: 'x', torn: true, tornLine: 'x'}}, 1000, ports());
	planRecords(planCarryOver(opened.plan, {name: 'a.1', head, bytes: 1}, ports()), [{event: 'a'}], ports(1));
	t.deepEqual(state, before);
	t.deepEqual(opened.plan.written.map(record => record.event), ['log.torn', 'checkpoint']);
});
