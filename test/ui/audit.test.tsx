/**
 * The audit screen: `a` on the fleet shows the controller's recent audit records under the chain
 * status the verifier gives; after a run, `a` shows that run's records and Esc returns to the run
 * as it was. The records come from the fake core's `readAudit`, as the real one reads the log.
 */
import test from 'ava';
import {chainRecord, type AuditFields, type AuditRecord, type ChainHead} from '../../source/audit/record.js';
import type {RunEvent} from '../../source/run/events.js';
import {FakeCore, agentRun} from './helpers/fake-core.js';
import {keys, press, renderApp, waitForFrame} from './helpers/frames.js';

const blank = (count: number) => '\n'.repeat(count);
const top = 'xi-exec                                                                    audit';
const hints = '↑↓ scroll · g read again · ? help · Esc back · Ctrl-C quit';
const columns = 'TIME           EVENT            REQUEST  AGENT      SCRIPT       OUTCOME';

/** A controller log: records chained as the real log's, one second apart. */
function controllerLog(fields: AuditFields[]): AuditRecord[] {
	const records: AuditRecord[] = [];
	let head: ChainHead | undefined;
	for (const [index, item] of fields.entries()) {
		const record = chainRecord(head, {log: 'log-controller', side: 'controller', now: new Date(Date.UTC(2026, 1, 24, 9, 0, index))}, item);
		head = {log: record.log, seq: record.seq, hash: record.hash};
		records.push(record);
	}

	return records;
}

const requestA = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
const requestB = '1b4e28ba-2fa1-11d2-883f-0016d3cca427';
const sample = controllerLog([
	{event: 'run.request', requestId: requestA, script: 'check-service', targets: ['web1', 'web2'], caller: 'alice@ops'},
	{event: 'run.outcome', requestId: requestA, agent: 'web1', script: 'check-service', status: 'ok', exitCode: 0},
	{event: 'run.outcome', requestId: requestA, agent: 'web2', script: 'check-service', status: 'failed', exitCode: 3},
	{event: 'run.request', requestId: requestB, script: 'deploy', targets: ['db1'], caller: 'bob@ops'},
	{event: 'run.outcome', requestId: requestB, agent: 'db1', script: 'deploy', status: 'denied', reason: 'denied by rule "freeze"'},
	{event: 'checkpoint', size: 5, head: 'a'.repeat(64), signature: 'c2ln', keyId: '01'},
]);

const sampleRows = `02-24 09:00:00 run.request      7c9e6679 2 agents   check-servi… -
02-24 09:00:01 run.outcome      7c9e6679 web1       check-servi… ok exit 0
02-24 09:00:02 run.outcome      7c9e6679 web2       check-servi… failed exit 3
02-24 09:00:03 run.request      1b4e28ba db1        deploy       -
02-24 09:00:04 run.outcome      1b4e28ba db1        deploy       denied denied …
02-24 09:00:05 checkpoint       -        -          -            sealed at 5`;

test('audit: a on the fleet shows the recent records under the chain status the verifier gives', async t => {
	const core = new FakeCore({audit: {records: sample}});
	const console = await renderApp(core);
	t.teardown(console.unmount);
	await waitForFrame(console, 'web3   127.0.0.1:7446 reachable');
	t.is(await press(console, 'a', 'chain intact'), `${top}
ok: 6 records, chain intact, last checkpoint at 5
All requests: 6 records
${columns}
${sampleRows}${blank(13)}${hints}`);
	t.deepEqual(core.auditQueries, [{limit: 500}]);
	t.deepEqual(console.largest(), {lines: 23, columns: 80});
	await press(console, keys.escape, 'Filter (/)');
});

test('audit: a broken chain shows the first broken record, and a warning shows under an intact one', async t => {
	const broken = new FakeCore({audit: {records: sample, chain: {ok: false, text: 'broken: /home/ops/.xi-exec/audit/controller.jsonl line 3: edited: record 2\'s hash does not match its content', warnings: []}}});
	const console = await renderApp(broken);
	t.teardown(console.unmount);
	await waitForFrame(console, 'web3   127.0.0.1:7446 reachable');
	const frame = await press(console, 'a', 'broken:');
	t.deepEqual(frame.split('\n').slice(1, 4), [
		'broken: /home/ops/.xi-exec/audit/controller.jsonl line 3: edited: record 2\'s ha…',
		'All requests: 6 records',
		columns,
	]);

	const unsealed = new FakeCore({audit: {records: sample.slice(0, 5), chain: {ok: true, text: 'ok: 5 records, chain intact, last checkpoint at none', warnings: ['5 record(s) after the last checkpoint are not sealed yet']}}});
	const second = await renderApp(unsealed);
	t.teardown(second.unmount);
	await waitForFrame(second, 'web3   127.0.0.1:7446 reachable');
	t.deepEqual((await press(second, 'a', 'chain intact')).split('\n').slice(1, 3), [
		'ok: 5 records, chain intact, last checkpoint at none',
		'warning: 5 record(s) after the last checkpoint are not sealed yet',
	]);
});

test('audit: no records yet says so', async t => {
	const console = await renderApp(new FakeCore());
	t.teardown(console.unmount);
	await waitForFrame(console, 'web3   127.0.0.1:7446 reachable');
	t.is(await press(console, 'a', 'no audit records'), `${top}
ok: 0 records, chain intact, last checkpoint at none
All requests: no audit records yet.
${columns}${blank(19)}${hints}`);
});

test('audit: more records than fit scroll with ↑↓; g reads the log again', async t => {
	const many = controllerLog(Array.from({length: 40}, (_, index) => ({event: 'run.request', requestId: `request-${String(index).padStart(2, '0')}`, script: 'tail-log', targets: ['web1']})));
	const core = new FakeCore({audit: {records: many}});
	const console = await renderApp(core);
	t.teardown(console.unmount);
	await waitForFrame(console, 'web3   127.0.0.1:7446 reachable');
	const first = await press(console, 'a', 'chain intact');
	t.true(first.includes('All requests: 40 records, 17 shown\n'), first);
	const times = (frame: string) => frame.split('\n').filter(line => line.startsWith('02-24')).map(line => line.slice(6, 14));
	t.deepEqual(times(first), Array.from({length: 17}, (_, index) => `09:00:${23 + index}`));
	const up = await press(console, keys.up, '17 shown, 1 up from the most recent');
	t.deepEqual(times(up), Array.from({length: 17}, (_, index) => `09:00:${22 + index}`));
	await press(console, keys.down, '17 shown\n');

	core.audit = {records: controllerLog([...many.map(({v: _v, log: _log, seq: _seq, ts: _ts, side: _side, prev: _prev, hash: _hash, ...fields}) => fields), {event: 'pairing.paired', agent: 'web9'}])};
	const again = await press(console, 'g', '41 records');
	t.true(again.includes('02-24 09:00:40 pairing.paired   -        web9'), again);
	t.is(times(again).length, 17);
	t.is(core.auditQueries.length, 2);
	t.deepEqual(console.largest(), {lines: 23, columns: 80});
});

test('audit: after a run, a shows that run\'s records; Esc goes back to the run as it was', async t => {
	const core = new FakeCore();
	const console = await renderApp(core);
	t.teardown(console.unmount);
	await waitForFrame(console, 'web3   127.0.0.1:7446 reachable');
	await press(console, 'r', 'pick one');
	await press(console, keys.enter, 'arguments');
	await press(console, keys.enter, 'on 6 agents?');
	await press(console, keys.enter, 'request');
	const [run] = core.runs;
	const targets = ['web1'];
	run!.emit({type: 'run-started', requestId: run!.requestId, script: 'check-service', args: [], targets});
	for (const event of agentRun('web1', 'healthy\n', {status: 'ok', exitCode: 0})) {
		run!.emit(event);
	}

	run!.emit({type: 'run-finished', requestId: run!.requestId} satisfies RunEvent);
	const finished = await waitForFrame(console, 'finished');
	core.audit = {records: controllerLog([
		{event: 'run.request', requestId: requestB, script: 'deploy', targets: ['db1']},
		{event: 'run.request', requestId: run!.requestId, script: 'check-service', targets},
		{event: 'run.outcome', requestId: run!.requestId, agent: 'web1', script: 'check-service', status: 'ok', exitCode: 0},
	])};
	const frame = await press(console, 'a', 'Request ');
	t.deepEqual(frame.split('\n').slice(2), [
		'Request 00000000-0000-0000-0000-000000000000: 2 records',
		columns,
		`02-24 09:00:01 run.request      ${run!.requestId.slice(0, 8)} web1       check-servi… -`,
		`02-24 09:00:02 run.outcome      ${run!.requestId.slice(0, 8)} web1       check-servi… ok exit 0`,
		...Array.from({length: 16}, () => ''),
		'↑↓ scroll · g read again · A all requests · ? help · Esc back · Ctrl-C quit',
	]);
	t.deepEqual(core.auditQueries, [{requestId: run!.requestId, limit: 500}]);
	t.is(await press(console, keys.escape, 'finished'), finished, 'the run screen is back as it was');

	await press(console, 'a', 'Request ');
	const all = await press(console, 'A', 'All requests: 3 records');
	t.true(all.includes('1b4e28ba db1'), all);
	t.deepEqual(core.auditQueries.at(-1), {limit: 500});
});

test('audit: text from the log cannot drive the terminal', async t => {
	const hostile = controllerLog([{event: 'run.request\u001B[2J', requestId: 'req\u001B]0;pwned\u0007', script: 'x\u001B[31m', agent: 'web\r1', status: 'ok'}]);
	const console = await renderApp(new FakeCore({audit: {records: hostile}}));
	t.teardown(console.unmount);
	await waitForFrame(console, 'web3   127.0.0.1:7446 reachable');
	const frame = await press(console, 'a', 'chain intact');
	const raw = console.lastFrame() ?? '';
	t.false(raw.includes('\u001B[2J') || raw.includes('\u001B]0;') || raw.includes('\r'), 'no escape sequence from the log reaches the terminal');
	t.true(frame.includes('req\\x1b] web\\x0d1   x\\x1b[31m    ok'), frame);
});
