/**
 * A table of tampered logs, each with the exact verdict of `verifyLog` (and, where a single log
 * cannot tell, of `crossVerify` against the other side's witness).
 *
 * The fleet: a controller and one agent (web1), both writing through `openAuditLog` with a
 * checkpoint every 4 records and a fake clock. Seven requests: 1-4 and 7 run, 5 and 6 are denied
 * by the agent's policy. Each request carries the controller's latest signed head; each outcome
 * the agent's. The agent's log (line = seq + 1):
 *
 *    1 received 1     6 received 3    11 received 5    16 received 7
 *    2 finish 1       7 finish 3      12 denied 5      17 finish 7      (16-17 not sealed yet)
 *    3 received 2     8 received 4    13 received 6
 *    4 finish 2       9 finish 4      14 denied 6
 *    5 checkpoint    10 checkpoint    15 checkpoint
 */
import {join} from 'node:path';
import test, {type ExecutionContext} from 'ava';
import {checkpointPayload} from '../../source/audit/checkpoint.js';
import {crossVerify, type CrossProblem} from '../../source/audit/cross-verify.js';
import {openAuditLog} from '../../source/audit/file-log.js';
import {argsHash, canonical, chainRecord, type AuditFields, type AuditRecord, type ChainHead} from '../../source/audit/record.js';
import {verifyLog, type Verdict} from '../../source/audit/verify.js';
import {auditKey, fakeClock, fileLines, linesOf, parseLines, rechain, temporaryDirectory, type AuditKey} from './helpers.js';

type Fleet = {agentKey: AuditKey; foreignKey: AuditKey; controller: AuditRecord[]; agentLines: string[]; agent: AuditRecord[]};

async function buildFleet(t: ExecutionContext): Promise<Fleet> {
	const directory = temporaryDirectory(t);
	const [agentKey, controllerKey, foreignKey] = await Promise.all([auditKey('agent-key'), auditKey('controller-key'), auditKey('intruder')]);
	const now = fakeClock();
	const controllerLog = openAuditLog({path: join(directory, 'controller.log'), side: 'controller', signer: controllerKey.signer, now, checkpointEvery: 4});
	const agentLog = openAuditLog({path: join(directory, 'agent.log'), side: 'agent', signer: agentKey.signer, now, checkpointEvery: 4});
	for (let index = 1; index <= 7; index++) {
		const requestId = `req-${index}`;
		const args = ['--lines', String(index * 10)];
		const denied = index === 5 || index === 6;
		await controllerLog.append({event: 'run.request', requestId, script: 'tail-log', args, argsHash: argsHash(args), targets: ['web1']});
		await agentLog.append({event: 'run.received', requestId, agent: 'web1', script: 'tail-log', argsHash: argsHash(args), controllerHead: controllerLog.signedHead()});
		await agentLog.append(denied
			? {event: 'run.decision', requestId, agent: 'web1', allowed: false, reason: 'denied by rule "freeze"'}
			: {event: 'run.finish', requestId, agent: 'web1', argsHash: argsHash(args), status: 'ok', exitCode: 0});
		await controllerLog.append({event: 'run.outcome', requestId, agent: 'web1', status: denied ? 'denied' : 'ok', agentHead: agentLog.signedHead()});
	}

	await controllerLog.close();
	// The agent is still running: its last two records are not sealed yet.
	const agentLines = fileLines(agentLog.path);
	return {agentKey, foreignKey, controller: parseLines(fileLines(controllerLog.path)), agentLines, agent: parseLines(agentLines)};
}

const notCanonical = 'the line is not the canonical form of its record (key order, spacing, number spelling or a duplicate key)';
const broken = (line: number, problem: string, detail: string, records: number) => ({ok: false, line, problem, detail, records}) as Verdict;

function intact(records: AuditRecord[], warnings: string[]): Verdict {
	const checkpoints = records.filter(record => record.event === 'checkpoint').map(record => ({seq: record.seq, hash: record.hash}));
	const last = records.at(-1)!;
	return {ok: true, records: records.length, lastCheckpoint: checkpoints.at(-1)?.seq, head: {seq: last.seq, hash: last.hash}, warnings, checkpoints};
}

const zeroExecutions = (requestId: string): CrossProblem => ({requestId, agent: 'web1', problem: `the controller recorded ok on web1 for request ${requestId}, but web1's log has 0 executions of it`});

/** The problem crossVerify names for the controller's witness of the agent's log in a request's outcome. */
function witnessMissing(fleet: Fleet, requestId: string): CrossProblem {
	const outcome = fleet.controller.find(record => record.event === 'run.outcome' && record['requestId'] === requestId)!;
	const head = outcome['agentHead'] as ChainHead;
	return {requestId, agent: 'web1', problem: `the controller witnessed web1's log at ${head.seq}/${head.hash.slice(0, 12)}…, which web1's log does not contain (cut off or rewritten)`};
}

/** Replaces line `line` (1-based) of the agent's log. */
function replaceLine(lines: string[], line: number, text: string): string[] {
	return lines.map((item, index) => (index === line - 1 ? text : item));
}

/** The agent's records with one field changed, as canonical lines, hashes untouched. */
function edit(fleet: Fleet, seq: number, change: Record<string, unknown>): AuditRecord[] {
	return fleet.agent.map(record => (record.seq === seq ? {...record, ...change} : record));
}

/** The whole log written again by whoever holds the agent's key, without request 3, and sealed. */
function rewriteWithoutRequest3(fleet: Fleet): AuditRecord[] {
	const kept = fleet.agent.filter(record => record.event !== 'checkpoint' && record['requestId'] !== 'req-3');
	const records: AuditRecord[] = [];
	let head: ChainHead | undefined;
	const add = (fields: AuditFields, ts: string) => {
		const record = chainRecord(head, {log: fleet.agent[0]!.log, side: 'agent', now: new Date(ts)}, fields);
		head = {log: record.log, seq: record.seq, hash: record.hash};
		records.push(record);
	};

	for (const original of kept) {
		const {v: _v, log: _log, seq: _seq, ts, side: _side, prev: _prev, hash: _hash, ...fields} = original;
		add(fields, ts);
		if ((records.length + 1) % 5 === 0) {
			const signature = fleet.agentKey.signer.sign(checkpointPayload({log: head!.log, seq: head!.seq + 1, hash: head!.hash}));
			add({event: 'checkpoint', size: head!.seq + 1, head: head!.hash, signature, keyId: 'agent-key'}, ts);
		}
	}

	return records;
}

type Row = {
	title: string;
	tamper: (fleet: Fleet) => string[];
	verdict: (fleet: Fleet, lines: string[]) => Verdict;
	/** Problems crossVerify finds against the controller's log, when the row says. */
	cross?: (fleet: Fleet) => CrossProblem[];
	/** Verify without the agent's key (as `--cross` reads agent logs today). */
	withoutKey?: boolean;
};

const rows: Row[] = [
	{
		title: 'untouched: intact, with the unsealed tail as a warning, and the two sides agree',
		tamper: fleet => fleet.agentLines,
		verdict: fleet => intact(fleet.agent, ['2 record(s) after the last checkpoint are not sealed yet']),
		cross: () => [],
	},
	{
		title: 'a field edited: that record\'s hash no longer matches',
		tamper: fleet => linesOf(edit(fleet, 6, {status: 'failed'})),
		verdict: () => broken(7, 'edited', 'record 6\'s hash does not match its content', 6),
	},
	{
		title: 'a field edited and its hash recomputed: the next record\'s prev breaks',
		tamper: fleet => linesOf(rechain(edit(fleet, 6, {status: 'failed'}), 6).map((record, index) => (index === 6 ? record : fleet.agent[index]!))),
		verdict: () => broken(8, 'chain broken', 'record 7 does not follow the record before it (prev hash differs)', 7),
	},
	{
		title: 'the whole suffix recomputed without the key: the next checkpoint\'s signature fails',
		tamper: fleet => linesOf(rechain(edit(fleet, 6, {status: 'failed'}), 6)),
		verdict: () => broken(10, 'bad checkpoint signature', 'the checkpoint signature does not verify with key agent-key', 9),
	},
	{
		title: 'the whole suffix recomputed, checkpoints left as they were: the checkpoint\'s head fails',
		tamper: fleet => linesOf(rechain(edit(fleet, 6, {status: 'failed'}), 6, {restateCheckpoints: false})),
		verdict: fleet => {
			const recomputed = rechain(edit(fleet, 6, {status: 'failed'}), 6, {restateCheckpoints: false});
			return broken(10, 'bad checkpoint signature', `the checkpoint states head ${fleet.agent[8]!.hash.slice(0, 12)}… at size 9, but the log has ${recomputed[8]!.hash.slice(0, 12)}… at 9`, 9);
		},
	},
	{
		title: 'the whole suffix recomputed and checked without the key: it passes (verify must be given the key)',
		tamper: fleet => linesOf(rechain(edit(fleet, 6, {status: 'failed'}), 6)),
		verdict: fleet => intact(rechain(edit(fleet, 6, {status: 'failed'}), 6), ['2 record(s) after the last checkpoint are not sealed yet']),
		withoutKey: true,
	},
	{
		title: 'a middle line deleted',
		tamper: fleet => fleet.agentLines.filter((_, index) => index !== 6),
		verdict: () => broken(7, 'missing', 'expected record 6, found 7: 1 record(s) missing', 6),
	},
	{
		title: 'a checkpoint deleted',
		tamper: fleet => fleet.agentLines.filter((_, index) => index !== 4),
		verdict: () => broken(5, 'missing', 'expected record 4, found 5: 1 record(s) missing', 4),
	},
	{
		title: 'three lines deleted',
		tamper: fleet => fleet.agentLines.filter((_, index) => index < 5 || index > 7),
		verdict: () => broken(6, 'missing', 'expected record 5, found 8: 3 record(s) missing', 5),
	},
	{
		title: 'two lines swapped',
		tamper: fleet => fleet.agentLines.map((line, index) => (index === 5 ? fleet.agentLines[6]! : index === 6 ? fleet.agentLines[5]! : line)),
		verdict: () => broken(6, 'reordered', 'record 6 comes before record 5', 5),
	},
	{
		title: 'a line moved to the end',
		tamper: fleet => [...fleet.agentLines.slice(0, 5), ...fleet.agentLines.slice(6, -1), fleet.agentLines[5]!, ''],
		verdict: () => broken(6, 'reordered', 'record 6 comes before record 5', 5),
	},
	{
		title: 'a line duplicated',
		tamper: fleet => [...fleet.agentLines.slice(0, 7), fleet.agentLines[6]!, ...fleet.agentLines.slice(7)],
		verdict: () => broken(8, 'duplicated', 'record 6 appears twice', 7),
	},
	{
		title: 'an old line replayed at the end',
		tamper: fleet => [...fleet.agentLines.slice(0, -1), fleet.agentLines[2]!, ''],
		verdict: () => broken(18, 'duplicated', 'record 2 appears twice', 17),
	},
	{
		title: 'the tail cut off past the last checkpoint: intact alone, caught through the controller\'s witness',
		tamper: fleet => [...fleet.agentLines.slice(0, 10), ''],
		verdict: fleet => intact(fleet.agent.slice(0, 10), []),
		cross: fleet => [witnessMissing(fleet, 'req-6'), zeroExecutions('req-7')],
	},
	{
		title: 'an unsealed tail cut: a warning alone, caught through the controller\'s record of the outcome',
		tamper: fleet => [...fleet.agentLines.slice(0, 16), ''],
		verdict: fleet => intact(fleet.agent.slice(0, 16), ['1 record(s) after the last checkpoint are not sealed yet']),
		cross: () => [zeroExecutions('req-7')],
	},
	{
		title: 'a non-JSON line in place of a record',
		tamper: fleet => replaceLine(fleet.agentLines, 7, 'rm -rf / # was here'),
		verdict: () => broken(7, 'not JSON', 'the line is not a JSON object', 6),
	},
	{
		title: 'a JSON array in place of a record',
		tamper: fleet => replaceLine(fleet.agentLines, 7, '[1,2,3]'),
		verdict: () => broken(7, 'not JSON', 'the line is not a JSON object', 6),
	},
	{
		title: 'a prototype-poisoning line in place of a record',
		tamper: fleet => replaceLine(fleet.agentLines, 7, fleet.agentLines[6]!.replace('{', '{"__proto__":{"ok":true},')),
		verdict: () => broken(7, 'not JSON', 'the line is not a JSON object', 6),
	},
	{
		title: 'a torn last line: intact, with a warning',
		tamper: fleet => [...fleet.agentLines.slice(0, 16), fleet.agentLines[16]!.slice(0, 60)],
		verdict: fleet => intact(fleet.agent.slice(0, 16), ['line 17: torn last record (a write cut short: a crash, a full disk or a file size limit; its caller was refused); the chain before it is intact', '1 record(s) after the last checkpoint are not sealed yet']),
	},
	{
		title: 'a torn line after the last record',
		tamper: fleet => [...fleet.agentLines.slice(0, -1), fleet.agentLines[3]!.slice(0, 60)],
		verdict: fleet => intact(fleet.agent, ['line 18: torn last record (a write cut short: a crash, a full disk or a file size limit; its caller was refused); the chain before it is intact', '2 record(s) after the last checkpoint are not sealed yet']),
	},
	{
		// The writer records every cut it finds (log.torn); a torn-looking line it never saw was added.
		title: 'a torn-looking line added in the middle, before a continuing record: broken',
		tamper: fleet => [...fleet.agentLines.slice(0, 6), fleet.agentLines[6]!.slice(0, 60), ...fleet.agentLines.slice(6)],
		verdict: () => broken(7, 'not JSON', 'the line is not a JSON object, and no log.torn record after it says the writer cut it short: it was added', 6),
	},
	{
		title: 'a torn line in the middle in place of a record',
		tamper: fleet => replaceLine(fleet.agentLines, 7, fleet.agentLines[6]!.slice(0, 60)),
		verdict: () => broken(7, 'not JSON', 'the line is not a JSON object', 6),
	},
	{
		title: 'not canonical: keys reordered',
		tamper: fleet => replaceLine(fleet.agentLines, 7, JSON.stringify(Object.fromEntries(Object.entries(fleet.agent[6]!).reverse()))),
		verdict: () => broken(7, 'not canonical', notCanonical, 6),
	},
	{
		title: 'not canonical: 1.0 for 1',
		tamper: fleet => replaceLine(fleet.agentLines, 7, fleet.agentLines[6]!.replace('"v":1}', '"v":1.0}')),
		verdict: () => broken(7, 'not canonical', notCanonical, 6),
	},
	{
		title: 'not canonical: 1e0 for 1',
		tamper: fleet => replaceLine(fleet.agentLines, 7, fleet.agentLines[6]!.replace('"v":1}', '"v":1e0}')),
		verdict: () => broken(7, 'not canonical', notCanonical, 6),
	},
	{
		title: 'not canonical: a duplicate key (two tools could read two values)',
		tamper: fleet => replaceLine(fleet.agentLines, 7, fleet.agentLines[6]!.replace('{', '{"status":"failed",')),
		verdict: () => broken(7, 'not canonical', notCanonical, 6),
	},
	{
		title: 'not canonical: extra spaces',
		tamper: fleet => replaceLine(fleet.agentLines, 7, fleet.agentLines[6]!.replace('","', '", "')),
		verdict: () => broken(7, 'not canonical', notCanonical, 6),
	},
	{
		title: 'not canonical: a trailing space',
		tamper: fleet => replaceLine(fleet.agentLines, 7, `${fleet.agentLines[6]!} `),
		verdict: () => broken(7, 'not canonical', notCanonical, 6),
	},
	{
		title: 'not canonical: a needless \\u escape',
		tamper: fleet => replaceLine(fleet.agentLines, 7, fleet.agentLines[6]!.replace('"web1"', '"web\\u0031"')),
		verdict: () => broken(7, 'not canonical', notCanonical, 6),
	},
	{
		title: 'a checkpoint signed by a foreign key under the agent\'s key id',
		tamper: fleet => linesOf(rechain(fleet.agent, 4, {signer: {keyId: 'agent-key', sign: fleet.foreignKey.signer.sign}})),
		verdict: () => broken(5, 'bad checkpoint signature', 'the checkpoint signature does not verify with key agent-key', 4),
	},
	{
		title: 'a checkpoint signed by a foreign key under its own key id',
		tamper: fleet => linesOf(rechain(fleet.agent, 4, {signer: fleet.foreignKey.signer})),
		verdict: () => broken(5, 'bad checkpoint signature', 'the checkpoint signature does not verify with key intruder', 4),
	},
	{
		title: 'a record of another log spliced in',
		tamper: fleet => replaceLine(fleet.agentLines, 7, canonical(fleet.controller[6]!)),
		verdict: fleet => broken(7, 'wrong log', `record belongs to log ${fleet.controller[0]!.log}, not ${fleet.agent[0]!.log}`, 6),
	},
	{
		title: 'a full rewrite re-signed with the agent\'s real key: intact alone (the residual risk), caught only against the controller',
		tamper: fleet => linesOf(rewriteWithoutRequest3(fleet)),
		// Signatures are randomised: the verdict is read off the rewritten lines themselves.
		verdict: (_fleet, lines) => intact(parseLines(lines), []),
		cross: fleet => [zeroExecutions('req-3'), witnessMissing(fleet, 'req-4'), witnessMissing(fleet, 'req-5'), witnessMissing(fleet, 'req-6'), witnessMissing(fleet, 'req-7')],
	},
];

for (const row of rows) {
	test(`tampered log: ${row.title}`, async t => {
		const fleet = await buildFleet(t);
		const lines = row.tamper(fleet);
		t.deepEqual(verifyLog(lines, row.withoutKey ? {} : {verifier: fleet.agentKey.verifier}), row.verdict(fleet, lines));
		if (row.cross) {
			t.deepEqual(crossVerify(fleet.controller, [{agent: 'web1', records: parseLines(lines)}]), row.cross(fleet));
		}
	});
}

test('the controller\'s own log verifies with its key and not with the agent\'s', async t => {
	const fleet = await buildFleet(t);
	const lines = linesOf(fleet.controller);
	const verdict = verifyLog(lines, {verifier: (await auditKey('controller-key')).verifier});
	t.like(verdict, {ok: false, line: 5, problem: 'bad checkpoint signature', records: 4});
	t.like(verifyLog(lines, {verifier: fleet.agentKey.verifier}), {ok: false, line: 5, problem: 'bad checkpoint signature', detail: 'the checkpoint signature does not verify with key controller-key'});
});

test('a log that continues an earlier file starts from that file\'s head', async t => {
	const fleet = await buildFleet(t);
	const second = fleet.agentLines.slice(10);
	const start = {seq: fleet.agent[9]!.seq, hash: fleet.agent[9]!.hash};
	t.like(verifyLog(second, {verifier: fleet.agentKey.verifier, start}), {ok: true, records: 7, lastCheckpoint: 14});
	t.deepEqual(verifyLog(second, {verifier: fleet.agentKey.verifier}), broken(1, 'missing', 'expected record 0, found 10: 10 record(s) missing', 0));
	t.deepEqual(verifyLog(second, {verifier: fleet.agentKey.verifier, start: {seq: 9, hash: fleet.agent[8]!.hash}}), broken(1, 'chain broken', 'record 10 does not follow the record before it (prev hash differs)', 0));
});

test('an empty log is intact and says nothing', t => {
	t.deepEqual(verifyLog([]), {ok: true, records: 0, lastCheckpoint: undefined, head: undefined, warnings: [], checkpoints: []});
	t.deepEqual(verifyLog(['']), {ok: true, records: 0, lastCheckpoint: undefined, head: undefined, warnings: [], checkpoints: []});
});
