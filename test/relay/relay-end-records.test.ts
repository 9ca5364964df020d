/**
 * The records that end a relay run stand in for its result (agent/relay-end-records.ts): the result
 * each kind of end record says, exactly as execute-run.ts answers it; the checks before a record
 * stands in for a result (on the disk, the same place in the chain, the same result); and the end
 * records a restarted agent reads back from its audit log (the window, the last per request id, a
 * rotated file, a torn line).
 */
import {appendFileSync, mkdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {endRecordsInLog, placeField, resultOfRecord, RunEndRecords, type ChainPlace} from '../../agent/relay-end-records.js';
import {notRun, resultFrame} from '../../agent/run-exchange.js';
import {temporaryDirectory} from '../helpers/fleet.js';

const id = 'req-00000001';
const outcome = {status: 'failed' as const, exitCode: 2, signal: null, durationMs: 12, truncated: false, bytes: {stdout: 5, stderr: 1}, reason: 'exit code 2'};

const rows: Array<{title: string; event: string; fields: Record<string, unknown>; result: unknown}> = [
	{title: 'a run that ended', event: 'run.finish', fields: {requestId: id, ...outcome, cancelledBy: undefined}, result: resultFrame(id, outcome, undefined)},
	{title: 'a refusal', event: 'run.refused', fields: {requestId: id, status: 'denied', reason: 'script nope is not on the allowlist'}, result: resultFrame(id, notRun('denied', 'script nope is not on the allowlist'), undefined)},
	{title: 'a dry run without a hook', event: 'decision', fields: {requestId: id, allowed: true, reason: 'allowlisted; no auth hook configured', dryRun: true}, result: resultFrame(id, notRun('ok', 'dry run: would run'), undefined)},
	{title: 'a dry run the hook allowed', event: 'decision', fields: {requestId: id, allowed: true, reason: 'policy p1', dryRun: true}, result: resultFrame(id, notRun('ok', 'dry run: would run (policy p1)'), undefined)},
	{title: 'a denial by the hook', event: 'decision', fields: {requestId: id, allowed: false, reason: 'not on Sundays', dryRun: false}, result: resultFrame(id, notRun('denied', 'not on Sundays'), undefined)},
	{title: 'a real run\'s decision: not its end', event: 'decision', fields: {requestId: id, allowed: true, reason: 'allowlisted; no auth hook configured', dryRun: false}, result: undefined},
	{title: 'a receipt: not an end', event: 'request.received', fields: {requestId: id}, result: undefined},
];

for (const row of rows) {
	test(`resultOfRecord: ${row.title}`, t => {
		t.deepEqual(resultOfRecord(row.event, row.fields), row.result as ReturnType<typeof resultOfRecord>);
	});
}

const place: ChainPlace = {req: 'a'.repeat(64), seq: 3, prev: 'b'.repeat(64)};

test('a record stands in for the result only once on the disk, at the place the result took, saying exactly what it says', async t => {
	let ended = 0;
	const records = new RunEndRecords(() => place, () => ended++);
	const body = {...resultFrame(id, outcome, undefined), agentHead: {log: 'l', seq: 1, hash: 'c'.repeat(64), signature: 's', keyId: 'k'}};
	t.false(records.covers(body, place), 'nothing recorded yet');
	let release: () => void = () => undefined;
	const written = new Promise<void>(resolve => {
		release = resolve;
	});
	const recorded: Array<Record<string, unknown>> = [];
	const recorder = records.wrap({record: async (_event, fields) => {
		recorded.push(fields);
		await written;
	}, signedHead: () => undefined});
	const recording = recorder.record('run.finish', {requestId: id, ...outcome});
	t.is(ended, 1, 'told the end comes next (a held ack is dropped)');
	t.false(records.covers(body, place), 'not yet on the disk');
	release();
	await recording;
	t.deepEqual(recorded[0]![placeField], place);
	t.true(records.covers(body, place));
	t.false(records.covers(body, {...place, seq: 4}), 'another place (a reply went out between)');
	t.false(records.covers({...body, exitCode: 3}, place), 'another result');
	t.false(records.covers({type: 'error', id, code: 'internal', message: 'internal error while running the script'}, place), 'not a result');
	await recorder.record('request.received', {requestId: id});
	t.is(recorded[1]![placeField], undefined, 'a record that cannot end the run names no place');
});

test('endRecordsInLog: the end records in the current file and the newest rotated one, within the window, the last per request id; a torn line is skipped', t => {
	const directory = temporaryDirectory('end-records');
	mkdirSync(directory, {recursive: true});
	const path = join(directory, 'agent.jsonl');
	const line = (requestId: string, event: string, ts: number, seq = 1) => `${JSON.stringify({event, requestId, ts: new Date(ts).toISOString(), status: 'ok', [placeField]: {...place, seq}})}\n`;
	writeFileSync(`${path}.1`, line('req-00000000', 'run.finish', 1000) + line('req-0000000a', 'run.finish', 5000));
	writeFileSync(`${path}.2`, line('req-0000000b', 'decision', 6000) + line('req-0000000b', 'run.refused', 7000, 2) + '{"event":"run.finish","requestId":"req-0000000c"');
	appendFileSync(path, line('req-0000000d', 'run.finish', 8000) + line('req-0000000e', 'run.finish', 20_000));
	const found = endRecordsInLog(path, 4000, 10_000);
	t.deepEqual([...found.keys()].sort(), ['req-0000000b', 'req-0000000d'], 'the oldest rotated file is not read; outside the window left out');
	t.like(found.get('req-0000000b'), {event: 'run.refused', place: {...place, seq: 2}});
});
