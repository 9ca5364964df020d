/**
 * What the agent does with each message from its request subject, without a broker: real request
 * envelopes signed by the pinned controller (or not), the real acceptance checks, a run executor
 * the test drives, and the replies read back as the controller reads them (reply-chain.ts). Each
 * case names the replies published (signed or not), the audit records, and what the runs table
 * and the kept results hold after it.
 */
import test from 'ava';
import {acceptRequest} from '../../agent/relay-accept.js';
import {RequestGuard} from '../../agent/relay-guard.js';
import {handleRelayRequest, type RelayRequestPorts} from '../../agent/relay-requests.js';
import {RelayResults} from '../../agent/relay-results.js';
import {placeField, type ChainPlace, type RunEndRecords} from '../../agent/relay-end-records.js';
import {RelayRuns} from '../../agent/relay-runs.js';
import {ReplayGuard} from '../../agent/replay-guard.js';
import {stopReasons} from '../../agent/stop-reasons.js';
import {limits, type RunFrame, type SignedHead} from '../../source/protocol/frames.js';
import {requestEnvelope, sealEnvelope, type ReplyEnvelope, type RequestBody, type RequestEnvelope} from '../../source/protocol/relay-envelope.js';
import {noSecrets} from '../../source/protocol/secret-args.js';
import {ReplyChains} from '../../source/relay/reply-chain.js';
import {mintAuthority, now} from '../pki/mint.js';
import {caDer, fleetHash, holder} from './identities.js';

const fleet = await mintAuthority();
const controller = await holder(fleet, {role: 'controller'});
const web1 = await holder(fleet, {role: 'agent', name: 'web1'});
const clock = now.getTime();
const pins = {caSha256: fleetHash(fleet), controllerSerials: [controller.serial]};

type Execution = {frame: RunFrame; serial: string; send: (line: string) => void; signal: AbortSignal; finish: () => void; fail: (error: Error) => void; records?: RunEndRecords};

/** An agent as relay-start.ts wires it, with the run's ack held back `ackHoldMs` (long by default: a test says when it matters); `written`: the results the file memory was handed. */
function agent(ackHoldMs = 60_000, more: Pick<RelayRequestPorts, 'endRecord' | 'signedHead'> = {}) {
	const published: Array<{id: string; text: string; keptFirst: boolean}> = [];
	const audits: Array<{event: string; fields: Record<string, unknown>}> = [];
	const logs: string[] = [];
	const executions: Execution[] = [];
	const written: string[] = [];
	const guard = new RequestGuard(new ReplayGuard(limits.clockSkewMs));
	const results = new RelayResults(60_000, undefined, {remember: kept => written.push(kept.id)});
	const runs = new RelayRuns(async (frame, serial, send, signal, records) => new Promise<void>((resolve, reject) => {
		executions.push({frame, serial, send, signal, finish: resolve, fail: reject, ...(records ? {records} : {})});
	}), event => logs.push(event));
	const ports: RelayRequestPorts = {
		agentName: 'web1',
		signing: () => ({signer: web1.signer, serial: web1.serial}),
		accept: (text, agentKey) => acceptRequest(text, {agentName: 'web1', pins, caDer: caDer(fleet), guard, agentKey, secretArgs: () => noSecrets, now: clock}),
		publish(id, text) {
			published.push({id, text, keptFirst: results.status(id, false, clock).result === text});
		},
		runs,
		results,
		describe: () => ({tags: {site: 'lyon'}, scripts: []}),
		now: () => clock,
		ackHoldMs,
		log: event => logs.push(event),
		audit: (event, fields) => audits.push({event, fields}),
		...more,
	};
	return {ports, published, audits, logs, executions, runs, results, written, handle: (text: string) => handleRelayRequest(text, ports)};
}

let counter = 0;
let sequence = 0;
/** A request envelope from the pinned controller, sealed: its text and hash. A run says, as this controller's do, that a quiet run is asked for its status (`probe`). */
function request(body: RequestBody, fields: Partial<RequestEnvelope> = {}, probe = body.type === 'run') {
	const env = requestEnvelope({id: `req-${String(++counter).padStart(8, '0')}`, seq: ++sequence, agent: 'web1', fleet: fleetHash(fleet), serial: controller.serial, iat: clock, ...(probe ? {probe: true as const} : {}), body, ...fields});
	return {env, ...sealEnvelope(env, controller.signer)};
}

/** The replies published for one request envelope, as the controller sees them: each type, and whether it came signed. */
const replyTypes = (published: Array<{text: string}>, hash: string) => published
	.map(({text}) => JSON.parse(text) as {env: ReplyEnvelope; sig?: string})
	.filter(message => message.env.req === hash)
	.map(message => `${message.env.body.type}${message.sig ? '' : ' (unsigned)'}`);

const line = (body: Record<string, unknown>) => JSON.stringify({v: 1, ...body});
const runBody: RequestBody = {type: 'run', script: 'hello', args: [], caller: 'alice'};

test('describe: one signed description, which the controller\'s chain check hands on', t => {
	const a = agent();
	const sent = request({type: 'describe'});
	a.handle(sent.text);
	t.deepEqual(replyTypes(a.published, sent.hash), ['description']);
	const chains = new ReplyChains(sent.env.id, {name: 'web1', serial: web1.serial, certificate: web1.certificate});
	chains.expect(sent.hash);
	t.like(chains.accept(a.published[0]!.text), {kind: 'frames', frames: [{type: 'description', agent: {name: 'web1', tags: {site: 'lyon'}}}]});
});

const sleep = async (ms: number) => new Promise(resolve => {
	setTimeout(resolve, ms);
});

test('a run that answers within the ack\'s hold: no ack at all, its output unsigned, its result signed and kept before it is published', async t => {
	const a = agent(50);
	const sent = request(runBody);
	a.handle(sent.text);
	t.deepEqual(replyTypes(a.published, sent.hash), [], 'the ack is held back');
	const [run] = a.executions;
	t.is(run!.serial, controller.serial, 'the run knows which controller asked');
	run!.send(line({type: 'started', id: sent.env.id}));
	run!.send(line({type: 'stdout', id: sent.env.id, data: 'hi\n'}));
	run!.send(line({type: 'result', id: sent.env.id, status: 'ok', exitCode: 0, signal: null, durationMs: 1, truncated: false, bytes: {stdout: 3, stderr: 0}}));
	await sleep(100);
	t.deepEqual(replyTypes(a.published, sent.hash), ['started (unsigned)', 'stdout (unsigned)', 'result'], 'started made the ack unneeded: it is never sent');
	t.deepEqual(a.published.map(each => each.keptFirst), [false, false, true], 'only the result, and kept before it went out');
	const chains = new ReplyChains(sent.env.id, {name: 'web1', serial: web1.serial, certificate: web1.certificate});
	chains.expect(sent.hash);
	const verdicts = a.published.map(each => chains.accept(each.text));
	t.like(verdicts.at(-1), {kind: 'frames', frames: [{type: 'started'}, {type: 'stdout'}, {type: 'result'}]});
});

test('a dry run that ends at once sends its result alone', async t => {
	const a = agent(50);
	const sent = request({...runBody, dryRun: true});
	a.handle(sent.text);
	a.executions[0]!.send(line({type: 'result', id: sent.env.id, status: 'ok', exitCode: null, signal: null, durationMs: 0, truncated: false, bytes: {stdout: 0, stderr: 0}, reason: 'dry run: would run'}));
	await sleep(100);
	t.deepEqual(replyTypes(a.published, sent.hash), ['result']);
	const chains = new ReplyChains(sent.env.id, {name: 'web1', serial: web1.serial, certificate: web1.certificate});
	chains.expect(sent.hash);
	t.like(chains.accept(a.published[0]!.text), {kind: 'frames', frames: [{type: 'result', status: 'ok'}]});
});

test('a run from a controller that never asks a quiet run for its status (no probe: one from before the held ack) is acknowledged at once, unsigned, as before', async t => {
	const a = agent();
	const sent = request({...runBody, dryRun: true}, {}, false);
	a.handle(sent.text);
	t.deepEqual(replyTypes(a.published, sent.hash), ['ack (unsigned)'], 'an older controller waits for the ack, then asks a run quiet after it');
	a.executions[0]!.send(line({type: 'result', id: sent.env.id, status: 'ok', exitCode: null, signal: null, durationMs: 0, truncated: false, bytes: {stdout: 0, stderr: 0}, reason: 'dry run: would run'}));
	await sleep(20);
	t.deepEqual(replyTypes(a.published, sent.hash), ['ack (unsigned)', 'result']);
	const chains = new ReplyChains(sent.env.id, {name: 'web1', serial: web1.serial, certificate: web1.certificate});
	chains.expect(sent.hash);
	const verdicts = a.published.map(each => chains.accept(each.text));
	t.like(verdicts, [{kind: 'pending'}, {kind: 'frames', frames: [{type: 'ack', found: true}, {type: 'result', status: 'ok'}]}]);
});

test('a run silent for the ack\'s hold is acknowledged then, signed; what follows chains after it', async t => {
	const a = agent(20);
	const sent = request(runBody);
	a.handle(sent.text);
	await sleep(80);
	t.deepEqual(replyTypes(a.published, sent.hash), ['ack']);
	a.executions[0]!.send(line({type: 'started', id: sent.env.id}));
	a.executions[0]!.send(line({type: 'result', id: sent.env.id, status: 'ok', exitCode: 0, signal: null, durationMs: 1, truncated: false, bytes: {stdout: 0, stderr: 0}}));
	t.deepEqual(replyTypes(a.published, sent.hash), ['ack', 'started (unsigned)', 'result']);
	const chains = new ReplyChains(sent.env.id, {name: 'web1', serial: web1.serial, certificate: web1.certificate});
	chains.expect(sent.hash);
	t.deepEqual(a.published.map(each => chains.accept(each.text).kind), ['frames', 'pending', 'frames']);
});

test('a second run under a request id already running is refused; the first goes on', t => {
	const a = agent();
	const first = request(runBody);
	a.handle(first.text);
	const again = request(runBody, {id: first.env.id});
	a.handle(again.text);
	t.deepEqual(replyTypes(a.published, again.hash), ['error']);
	t.regex(a.published.at(-1)!.text, /a run with request id req-\d+ is already in progress/);
	t.is(a.executions.length, 1);
	t.true(a.runs.running(first.env.id));
});

test('cancel: the run of that id is aborted with the caller\'s name, audited, and acknowledged; an unknown id is acknowledged as not found', t => {
	const a = agent();
	const started = request(runBody);
	a.handle(started.text);
	const cancel = request({type: 'cancel', caller: 'bob'}, {id: started.env.id});
	a.handle(cancel.text);
	t.is(a.executions[0]!.signal.reason, 'bob');
	t.deepEqual(replyTypes(a.published, cancel.hash), ['ack']);
	t.regex(a.published.at(-1)!.text, /"found":true/);
	const unknown = request({type: 'cancel', caller: 'bob'});
	a.handle(unknown.text);
	t.regex(a.published.at(-1)!.text, /"found":false/);
	t.deepEqual(a.audits.map(({event, fields}) => [event, fields['found']]), [['cancel', true], ['cancel', false]]);
});

test('status: an ended run\'s kept result is sent again verbatim; a request never seen is not found', t => {
	const a = agent();
	const started = request(runBody);
	a.handle(started.text);
	a.executions[0]!.send(line({type: 'error', id: started.env.id, code: 'busy', message: 'no slot'}));
	a.executions[0]!.finish();
	const resultText = a.published.at(-1)!.text;
	const status = request({type: 'status', caller: 'alice'}, {id: started.env.id});
	a.handle(status.text);
	t.deepEqual(replyTypes(a.published, status.hash), ['ack']);
	t.is(a.published.at(-1)!.text, resultText, 'the same signed reply, still in the run\'s chain');
	const never = request({type: 'status', caller: 'alice'});
	a.handle(never.text);
	t.regex(a.published.at(-1)!.text, /"found":false/);
	t.like(a.audits.at(-1), {event: 'relay.status', fields: {found: false, running: false, resent: false}});
	t.like(a.audits.at(-2), {event: 'relay.status', fields: {found: true, running: false, resent: true}});
});

type Refusal = {title: string; message: () => string; audit: Record<string, unknown>; replies: number};

const refusals: Refusal[] = [
	{title: 'a request for another agent: a signed error names it', message: () => request(runBody, {agent: 'web2'}).text, audit: {code: 'forbidden', reason: 'the request is for agent web2, not web1'}, replies: 1},
	{title: 'an expired request: a signed error says so', message: () => request(runBody, {iat: clock - 200_000, exp: clock - 100_000}).text, audit: {code: 'stale'}, replies: 1},
	{title: 'bytes that are not an envelope: audited, nothing to answer', message: () => '{"env":', audit: {code: 'malformed', requestId: '-'}, replies: 0},
];

for (const refusal of refusals) {
	test(`refused: ${refusal.title}`, t => {
		const a = agent();
		a.handle(refusal.message());
		t.like(a.audits, [{event: 'relay.refused', fields: {source: 'relay', ...refusal.audit}}]);
		t.is(a.published.length, refusal.replies);
		t.is(a.executions.length, 0, 'nothing ran');
		for (const {text} of a.published) {
			const message = JSON.parse(text) as {env: ReplyEnvelope; sig?: string};
			t.like(message.env.body, {type: 'error'});
			t.regex((message.env.body as {message: string}).message, /^refused: /);
			t.truthy(message.sig, 'the refusal is signed');
		}
	});
}

test('refused: the same envelope again is a replay, audited and not answered (the original is)', t => {
	const a = agent();
	const sent = request(runBody);
	a.handle(sent.text);
	a.handle(sent.text);
	t.is(a.executions.length, 1);
	t.like(a.audits, [{event: 'relay.refused', fields: {code: 'replayed'}}]);
	t.deepEqual(replyTypes(a.published, sent.hash), [], 'nothing for the replay (and the original\'s ack is held back)');
});

test('a certificate step on an agent without the relay\'s certificate steps is refused, signed', t => {
	const a = agent();
	const sent = request({type: 'renew', caller: 'alice'});
	a.handle(sent.text);
	t.deepEqual(replyTypes(a.published, sent.hash), ['error']);
	t.regex(a.published[0]!.text, /renew is not available over the relay on this agent/);
});

test('a run whose execution throws ends with an internal error, kept for status like a result', async t => {
	const a = agent();
	const sent = request(runBody);
	a.handle(sent.text);
	a.executions[0]!.fail(new Error('boom'));
	await a.runs.stop(stopReasons.agentStopping);
	t.deepEqual(replyTypes(a.published, sent.hash), ['error']);
	t.true(a.published.at(-1)!.keptFirst);
	t.regex(a.published.at(-1)!.text, /"code":"internal"/);
	t.deepEqual(a.logs, ['run.error']);
	t.false(a.runs.running(sent.env.id));
});

test('stop aborts every run as the agent stopping and waits for each to end', async t => {
	const a = agent();
	a.handle(request(runBody).text);
	a.handle(request(runBody).text);
	let stopped = false;
	const stopping = a.runs.stop(stopReasons.agentStopping).then(() => {
		stopped = true;
	});
	t.deepEqual(a.executions.map(each => each.signal.reason as unknown), [stopReasons.agentStopping, stopReasons.agentStopping]);
	a.executions[0]!.finish();
	await Promise.resolve();
	t.false(stopped, 'one run still going');
	a.executions[1]!.finish();
	await stopping;
	t.true(stopped);
});

/** A recorder that keeps what it is given (on the disk at once), with `head` as the log's signed head. */
function memoryRecorder(head?: SignedHead) {
	const recorded: Array<{event: string; fields: Record<string, unknown>}> = [];
	return {recorded, recorder: {record: async (event: string, fields: Record<string, unknown>) => {
		recorded.push({event, fields});
	}, signedHead: () => head}};
}

const finish = {status: 'ok', exitCode: 0, signal: null, durationMs: 3, truncated: false, bytes: {stdout: 3, stderr: 0}};
const headBefore: SignedHead = {log: 'log-1', seq: 4, hash: 'a'.repeat(64), signature: 'sig-before', keyId: web1.serial};
const headNow: SignedHead = {log: 'log-1', seq: 9, hash: 'b'.repeat(64), signature: 'sig-now', keyId: web1.serial};

/** A run with one output chunk whose end is recorded (run.finish naming its result's place) and answered with `result`. */
async function endedRun(a: ReturnType<typeof agent>, result: Record<string, unknown>) {
	const sent = request(runBody);
	a.handle(sent.text);
	const run = a.executions.at(-1)!;
	const {recorded, recorder} = memoryRecorder(headBefore);
	run.send(line({type: 'stdout', id: sent.env.id, data: 'hi\n'}));
	await run.records!.wrap(recorder).record('run.finish', {requestId: sent.env.id, caller: 'alice', ...finish, reason: undefined, cancelledBy: undefined});
	run.send(line({type: 'result', id: sent.env.id, ...result, agentHead: headBefore}));
	run.finish();
	await a.runs.stop(stopReasons.agentStopping);
	return {sent, recorded};
}

test('a result its run.finish record covers is kept by that record (the audit batch already fsynced): nothing written for it; one the record does not say exactly is written and fsynced as before', async t => {
	const a = agent();
	const covered = await endedRun(a, finish);
	t.like(covered.recorded, [{event: 'run.finish', fields: {[placeField]: {req: covered.sent.hash, seq: 2}}}], 'the record names the place after the output chunk');
	t.deepEqual(a.written, [], 'no line in the results file');
	t.is(a.results.status(covered.sent.env.id, false, clock).result, a.published.at(-1)!.text, 'kept in memory, verbatim');
	const differs = await endedRun(a, {...finish, exitCode: 1, status: 'failed', reason: 'exit code 1'});
	t.deepEqual(a.written, [differs.sent.env.id], 'kept in the results file: the record does not say what the result says');
});

test('status after a restart: the result is sealed again from its end record, in its place in the run\'s chain, signed, with the log\'s head now', async t => {
	const before = agent();
	const {sent, recorded} = await endedRun(before, finish);
	const [chunk, lost] = before.published.filter(each => each.id === sent.env.id).map(each => each.text);
	const fields = recorded[0]!.fields;
	const restarted = agent(60_000, {endRecord: id => (id === sent.env.id ? {event: 'run.finish', fields, place: fields[placeField] as ChainPlace} : undefined), signedHead: () => headNow});
	const status = request({type: 'status', caller: 'alice'}, {id: sent.env.id});
	restarted.handle(status.text);
	t.deepEqual(replyTypes(restarted.published, status.hash), ['ack']);
	t.regex(restarted.published[0]!.text, /"found":true/);
	const again = restarted.published.at(-1)!.text;
	t.not(again, lost, 'sealed again, not the bytes lost');
	const chains = new ReplyChains(sent.env.id, {name: 'web1', serial: web1.serial, certificate: web1.certificate});
	chains.expect(sent.hash);
	t.is(chains.accept(chunk!).kind, 'pending');
	const verdict = chains.accept(again);
	t.like(verdict, {kind: 'frames', frames: [{type: 'stdout', data: 'hi\n'}, {type: 'result', ...finish, agentHead: headNow}]});
	t.like(restarted.audits.at(-1), {event: 'relay.status', fields: {found: true, running: false, resent: true, resealed: true}});
	restarted.handle(request({type: 'status', caller: 'alice'}, {id: sent.env.id}).text);
	t.is(restarted.published.at(-1)!.text, again, 'kept from then on: a second question gets the same bytes');
	const unknown = request({type: 'status', caller: 'alice'});
	restarted.handle(unknown.text);
	t.regex(restarted.published.at(-1)!.text, /"found":false/, 'a request with no end record is not found');
});
