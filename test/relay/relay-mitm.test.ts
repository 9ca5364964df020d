/**
 * A man in the middle of the relay, over real nats-servers: the controller talks to one broker,
 * the agent to another, and a separate process (test/fixtures/relay-mitm.ts) holding a broker
 * operator's credentials on both carries the agent's traffic between them and drops, holds back or
 * duplicates replies on the way. What must hold: a lost result is recovered by asking the agent
 * for the request's status (the agent sends its signed result again, which must still fit the
 * run's chain, also after the agent was killed with kill -9 and restarted: the audit record that
 * ended the run names the result's place in the chain, and the agent seals it again from that
 * record; a run, a dry run and a refusal each keep their result so, with no line in the results
 * file), a lost chunk or reordered chunks end the run as a reported gap, never a wrong result, and
 * a results file torn by a crash is said once and skipped.
 * Then a broker configured wrongly on purpose, letting another agent answer as this one: the
 * controller still refuses it and its audit log says why. Each case asserts the refusal or the
 * recovery and the audit record it leaves.
 *
 * (Cases the relay-fleet test already covers over one broker are not repeated: replay, also after
 * a restart; another agent's request; expiry; an unpinned controller; a forged result; the broker
 * refusing another agent's subjects.)
 */
import {readFileSync, statSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {connect, type NatsConnection} from '@nats-io/transport-node';
import {agentPaths, readAgentConfig, writeAgentConfig} from '../../agent/home.js';
import {relayResultsFile} from '../../agent/relay-results-file.js';
import {controllerPaths, loadControllerCredentials, openControllerRegistry} from '../../source/home.js';
import type {ExchangeEnd} from '../../source/dispatch/exchange-end.js';
import {openRelayLink, type RelayLink, type RelayTarget} from '../../source/dispatch/relay-link.js';
import {certificateFacts} from '../../source/pki/certificate-facts.js';
import {generateKeyPair, privateKeyToPem} from '../../source/pki/index.js';
import type {ResponseFrame} from '../../source/protocol/frames.js';
import {envelopeHash, requestEnvelope, sealMessage, signerFromPem, type RequestEnvelope} from '../../source/protocol/relay-envelope.js';
import {relaySubjects} from '../../source/protocol/relay-subjects.js';
import {brokerTls} from '../../source/relay/broker-tls.js';
import {controllerCli, createController, enrolAgent, freePort, installFixture, runCli, startAgent, startFixture, waitFor, type RunningAgent, type TestAgent} from '../helpers/fleet.js';
import {natsServerMissing, startBroker, type Broker} from '../helpers/nats-broker.js';

const missing = natsServerMissing();
if (missing) {
	console.log(`relay man-in-the-middle tests skipped: ${missing}`);
}

const spyUser = '\t\t{user: "xi-exec:audit", permissions: {publish: {allow: [">"]}, subscribe: {allow: [">"]}}}\n';
/** The broker configured wrongly on purpose: agent web2 may read and write every subject. */
const looseWeb2 = '\t\t{user: "xi-exec:agent/web2", permissions: {publish: {allow: [">"]}, subscribe: {allow: [">"]}}}\n';

type Mitm = ReturnType<typeof startFixture>;
type Fleet = {controllerHome: string; near: Broker; far: Broker; web1: TestAgent; web2: TestAgent; running: RunningAgent; mitm: Mitm; link: RelayLink; target: RelayTarget; spy: NatsConnection};
let fleet: Fleet | undefined;

const connected = (running: RunningAgent) => waitFor(() => running.lines.find(line => line.includes('"event":"relay.connected"')), 'the agent to connect to the broker');

test.before(async () => {
	if (missing) {
		return;
	}

	const controllerHome = await createController();
	// echo-args writes its one line at once: one output chunk, so what the man in the middle does to "the first chunk" is the whole output.
	const scripts = {hello: installFixture('hello.sh'), 'echo-args': installFixture('echo-args.sh')};
	const web1 = await enrolAgent(controllerHome, {name: 'web1', port: freePort(), scripts});
	const web2 = await enrolAgent(controllerHome, {name: 'web2', port: freePort(), scripts});
	// The controller's broker (near) and the agent's (far); web2 only on the near one, too loosely.
	const near = await startBroker(controllerHome, ['web1'], spyUser + looseWeb2);
	const far = await startBroker(controllerHome, ['web1'], spyUser);
	const paths = agentPaths(web1.home);
	writeAgentConfig(paths, {...readAgentConfig(paths), listen: 'none', relay: far.url});
	const cpaths = controllerPaths(controllerHome);
	await openControllerRegistry(cpaths).update(registry => ({
		...registry,
		agents: registry.agents.map(record => (record.name === 'web1' ? {...record, transport: 'nats' as const, relay: near.url} : record)),
	}));
	const running = await startAgent(web1);
	await connected(running);
	const mitm = startFixture('relay-mitm.ts', [near.url, far.url, cpaths.auditCert, cpaths.auditKey, cpaths.caCert, 'web1']);
	await waitFor(() => (mitm.stdout().includes('ready\n') ? true : undefined), 'the man in the middle to be ready', {state: () => mitm.stderr()});
	const credentials = loadControllerCredentials(cpaths);
	const link = await openRelayLink({url: near.url, credentials});
	const record = (await openControllerRegistry(cpaths).read()).agents.find(agent => agent.name === 'web1')!;
	const spy = await connect({servers: far.url, tls: brokerTls({cert: readFileSync(cpaths.auditCert, 'utf8'), key: readFileSync(cpaths.auditKey, 'utf8'), ca: credentials.ca})});
	fleet = {controllerHome, near, far, web1, web2, running, mitm, link, target: {name: 'web1', serial: record.serial, certificate: record.certificate!}, spy};
});

test.after.always(async () => {
	if (!fleet) {
		return;
	}

	await fleet.link.close();
	await fleet.spy.close();
	fleet.mitm.child.stdin.end();
	fleet.mitm.child.kill();
	await fleet.mitm.exited;
	await fleet.running.stop();
	await fleet.near.stop();
	await fleet.far.stop();
});

const skip = (t: {log: (text: string) => void; pass: () => void}) => {
	t.log(`skipped: ${missing}`);
	t.pass();
};

async function mode(name: string): Promise<void> {
	const before = fleet!.mitm.stdout().split(`mode ${name}\n`).length;
	fleet!.mitm.child.stdin.write(`mode ${name}\n`);
	await waitFor(() => (fleet!.mitm.stdout().split(`mode ${name}\n`).length > before ? true : undefined), `the man in the middle to switch to ${name}`);
}

/** What the man in the middle did to request `id`'s replies; not to the copies the agent sends of a chunk when its chain goes quiet, which depend on load. */
const mitmDid = (id: string) => fleet!.mitm.stdout().split('\n').filter(line => line.startsWith('{')).map(line => JSON.parse(line) as {did: string; id: string; type: string; copy?: true}).filter(entry => entry.id === id && !entry.copy).map(entry => `${entry.did} ${entry.type}`);

/** The sequence number of the reply the man in the middle did `did` to first (the run's ack is held back, and sent or not depending on load). */
const seqOf = (id: string, did: string, type: string) => fleet!.mitm.stdout().split('\n').filter(line => line.startsWith('{')).map(line => JSON.parse(line) as {did: string; id: string; type: string; seq: number}).find(entry => entry.id === id && entry.did === did && entry.type === type)!.seq;
const gapAt = (seq: number) => `over the relay: a gap in the agent's replies: expected reply ${seq}, got ${seq + 1} (replies were dropped, reordered or altered on the way)`;

async function run(id: string, script = 'hello', args: string[] = [], statusAfterMs = 300, more: {dryRun?: boolean; connectTimeoutMs?: number} = {}): Promise<{end: ExchangeEnd; frames: ResponseFrame[]; notices: string[]}> {
	const frames: ResponseFrame[] = [];
	const notices: string[] = [];
	const end = await fleet!.link.exchange(fleet!.target, {type: 'run', id, script, args, caller: 'alice', timeoutMs: 20_000, ...(more.dryRun ? {dryRun: true} : {})}, {
		connectTimeoutMs: more.connectTimeoutMs ?? 10_000,
		deadlineMs: 60_000,
		statusAfterMs,
		onFrame: frame => frames.push(frame),
		onNotice: notice => notices.push(notice),
	});
	return {end, frames, notices};
}

const stdout = (frames: ResponseFrame[]) => frames.map(frame => (frame.type === 'stdout' ? frame.data : '')).join('');
const hello = 'hello from hello\nescape \u001B[2J here\n';
const records = (path: string) => readFileSync(path, 'utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>);
const agentRecords = (id: string) => records(agentPaths(fleet!.web1.home).auditLog).filter(record => record['requestId'] === id);
/** The agent audits a status question beside answering it: the answer can arrive first. */
const statusRecord = async (id: string) => waitFor(() => agentRecords(id).find(record => record['event'] === 'relay.status'), `the agent's relay.status record of ${id}`);
/**
 * The status question the agent answered with the run's kept result. On a busy machine a run can
 * go quiet for the status delay before it ends: a first question then finds it running (resent
 * false), and a later one gets the result.
 */
const resentRecord = async (id: string) => waitFor(() => agentRecords(id).find(record => record['event'] === 'relay.status' && record['resent'] === true), `the agent's relay.status record of ${id} that re-sent its result`);
const resultOf = (end: ExchangeEnd) => (end.kind === 'terminal' && end.frame.type === 'result' ? end.frame : undefined);

test.serial('through the man in the middle that passes everything, a run ends with its result', async t => {
	if (missing) {
		return skip(t);
	}

	await mode('pass');
	const {end, frames} = await run('mitm-pass-00001');
	t.like(resultOf(end), {status: 'ok', exitCode: 0});
	t.is(stdout(frames), hello);
});

test.serial('a dropped result is recovered by asking the agent for the request\'s status', async t => {
	if (missing) {
		return skip(t);
	}

	await mode('drop-result');
	const {end, frames, notices} = await run('mitm-lost-00001');
	t.deepEqual(mitmDid('mitm-lost-00001'), ['dropped result']);
	t.like(resultOf(end), {status: 'ok', exitCode: 0});
	t.is(stdout(frames), hello, 'the output is whole: the re-sent result still fits the run\'s chain');
	t.true(notices.includes('the run went quiet: the controller asked the agent for its status, and the agent knows the request'), notices.join('\n'));
	t.true(notices.includes('the result came after the controller asked for the status: the agent sent it again (lost or late on the broker)'), notices.join('\n'));
	// The agent ran it once, and recorded the question and its answer.
	t.is(agentRecords('mitm-lost-00001').filter(record => record['event'] === 'run.start').length, 1);
	t.like(await resentRecord('mitm-lost-00001'), {source: 'relay', caller: 'alice', found: true, running: false, resent: true});
	keptByItsRecord(t, 'mitm-lost-00001', 'run.finish');
});

test.serial('a refused run whose result is dropped: recovered by the status question, its result kept by its run.refused record', async t => {
	if (missing) {
		return skip(t);
	}

	await mode('drop-result');
	const {end, notices} = await run('mitm-refused-001', 'not-allowed', [], 1500, {connectTimeoutMs: 4000});
	t.deepEqual(mitmDid('mitm-refused-001'), ['dropped result']);
	t.like(resultOf(end), {status: 'denied'});
	t.true(notices.includes('the result came after the controller asked for the status: the agent sent it again (lost or late on the broker)'), notices.join('\n'));
	keptByItsRecord(t, 'mitm-refused-001', 'run.refused');
});

test.serial('a dry run whose only reply, its result, is dropped (its ack held back and never sent): recovered by the status question at half the connect timeout', async t => {
	if (missing) {
		return skip(t);
	}

	await mode('drop-result');
	// Asked at 2 s when nothing came; if the agent was slow enough to send its ack (load), asked 1.5 s after it.
	const {end, notices} = await run('mitm-only-00001', 'hello', [], 1500, {dryRun: true, connectTimeoutMs: 4000});
	t.deepEqual(mitmDid('mitm-only-00001'), ['dropped result']);
	t.like(resultOf(end), {status: 'ok', reason: 'dry run: would run'});
	t.deepEqual(notices, [
		'the run went quiet: the controller asked the agent for its status, and the agent knows the request',
		'the result came after the controller asked for the status: the agent sent it again (lost or late on the broker)',
	]);
	t.like(await resentRecord('mitm-only-00001'), {source: 'relay', caller: 'alice', found: true, running: false, resent: true});
	t.is(agentRecords('mitm-only-00001').filter(record => record['event'] === 'request.received').length, 1, 'asked for its status, the agent did not run it again');
	keptByItsRecord(t, 'mitm-only-00001', 'decision');
});

test.serial('a run request dropped on the way: the status question at half the connect timeout finds no record, and the run is lost at once', async t => {
	if (missing) {
		return skip(t);
	}

	await mode('drop-request');
	const {end} = await run('mitm-noreq-0001', 'hello', [], 60_000, {connectTimeoutMs: 4000});
	t.deepEqual(mitmDid('mitm-noreq-0001'), ['dropped run request']);
	t.deepEqual(end, {kind: 'lost', reason: 'agent web1 has no record of request mitm-noreq-0001: the request was lost on the way (or the agent restarted during it), and it will refuse it from now on'});
	t.like(await statusRecord('mitm-noreq-0001'), {found: false, running: false, resent: false});
	t.false(agentRecords('mitm-noreq-0001').some(record => record['event'] === 'request.received'), 'nothing ran');
});

test.serial('a dropped chunk before a dropped result: the recovered result shows the gap, never a whole-looking run', async t => {
	if (missing) {
		return skip(t);
	}

	await mode('drop-chunk-result');
	const {end} = await run('mitm-chunk-0001', 'echo-args', ['one']);
	t.deepEqual(mitmDid('mitm-chunk-0001'), ['dropped stdout', 'dropped result']);
	t.deepEqual(end, {kind: 'protocol', reason: gapAt(seqOf('mitm-chunk-0001', 'dropped', 'stdout'))});
	t.like(await resentRecord('mitm-chunk-0001'), {found: true, running: false});
});

test.serial('output chunks delivered out of order end the run as a gap', async t => {
	if (missing) {
		return skip(t);
	}

	await mode('reorder-output');
	const {end, frames} = await run('mitm-order-0001', 'echo-args', ['one']);
	t.deepEqual(mitmDid('mitm-order-0001'), ['held stdout', 'released stdout']);
	t.deepEqual(end, {kind: 'protocol', reason: gapAt(seqOf('mitm-order-0001', 'held', 'stdout'))});
	t.is(stdout(frames), '', 'no output out of order was shown');
	t.like(await waitFor(() => agentRecords('mitm-order-0001').find(record => record['event'] === 'run.finish'), 'the agent\'s run.finish record'), {status: 'ok'}, 'the agent ran it; only the delivery failed');
});

test.serial('output chunks delivered twice are shown once', async t => {
	if (missing) {
		return skip(t);
	}

	await mode('duplicate-output');
	const {end, frames, notices} = await run('mitm-twice-0001', 'echo-args', ['one']);
	t.deepEqual(mitmDid('mitm-twice-0001'), ['duplicated stdout']);
	t.like(resultOf(end), {status: 'ok'});
	t.is(stdout(frames), '[one]\n');
	t.true(notices.includes('the broker delivered a reply twice: the copy was dropped'));
});

/** Kills the agent at once (no chance to write anything more), starts it again and waits until it is back on the broker. */
async function killAndRestart(before?: () => void): Promise<void> {
	const {process: child} = fleet!.running;
	const exited = new Promise(resolve => child.once('exit', resolve));
	child.kill('SIGKILL');
	await exited;
	before?.();
	fleet!.running = await startAgent(fleet!.web1);
	await connected(fleet!.running);
}

const resultsFile = () => join(fleet!.web1.home, relayResultsFile);

/** The run's result was kept by its end record alone (relay-end-records.ts): that record names the result's place, and nothing went to the results file. */
function keptByItsRecord(t: {true: (value: boolean, message?: string) => void; false: (value: boolean, message?: string) => void}, id: string, event: string): void {
	const ending = agentRecords(id).filter(record => record['relayReply'] !== undefined);
	t.true(ending.length > 0 && ending.at(-1)!['event'] === event, `the last record naming the result's place is ${event}: ${JSON.stringify(ending)}`);
	t.false(readFileSync(resultsFile(), 'utf8').includes(id), 'no line in the results file, no fsync of its own');
}

test.serial('a result dropped, then the agent killed (kill -9) and restarted: the controller recovers it with its note', async t => {
	if (missing) {
		return skip(t);
	}

	await mode('drop-result');
	const pending = run('mitm-killed-0001', 'echo-args', ['kept'], 1000);
	await waitFor(() => (mitmDid('mitm-killed-0001').includes('dropped result') ? true : undefined), 'the result to be dropped');
	await killAndRestart();
	t.is(statSync(resultsFile()).mode & 0o777, 0o600);
	const {end, frames, notices} = await pending;
	t.like(resultOf(end), {status: 'ok', exitCode: 0});
	t.is(stdout(frames), '[kept]\n', 'the output is whole: the result kept on disk still fits the run\'s chain');
	t.true(notices.includes('the result came after the controller asked for the status: the agent sent it again (lost or late on the broker)'), notices.join('\n'));
	t.like(await resentRecord('mitm-killed-0001'), {found: true, running: false, resealed: true});
	t.is(agentRecords('mitm-killed-0001').filter(record => record['event'] === 'run.start').length, 1, 'asking for the status never runs it again');
	keptByItsRecord(t, 'mitm-killed-0001', 'run.finish');
	t.false(fleet!.running.lines.some(line => line.includes('relay.results-damaged')), 'a sound file is not reported');
});

test.serial('a results file torn while the agent was down (a line cut by a crash): said once and skipped, and a dropped result is still recovered from its audit record', async t => {
	if (missing) {
		return skip(t);
	}

	await mode('drop-result');
	const pending = run('mitm-torn-00001', 'echo-args', ['torn'], 1000);
	await waitFor(() => (mitmDid('mitm-torn-00001').includes('dropped result') ? true : undefined), 'the result to be dropped');
	await killAndRestart(() => {
		// The file cut by a crash mid-append (an older agent kept every result there): one torn line, nothing else.
		writeFileSync(resultsFile(), '{"at":1,"id":"mitm-torn-00001","text":"{\\"env', {mode: 0o600});
	});
	const {end, frames} = await pending;
	t.like(resultOf(end), {status: 'ok', exitCode: 0});
	t.is(stdout(frames), '[torn]\n', 'sealed again in its place in the run\'s chain: the output is whole');
	t.like(await resentRecord('mitm-torn-00001'), {found: true, running: false, resealed: true});
	const damaged = fleet!.running.lines.filter(line => line.includes('"event":"relay.results-damaged"')).map(line => JSON.parse(line) as Record<string, unknown>);
	t.is(damaged.length, 1, 'said once');
	t.like(damaged[0], {level: 'warn', reason: `${resultsFile()} holds 1 damaged line (torn by a crash, or not written by the agent): it is skipped, and the ${String(damaged[0]!['kept'])} readable results are kept`});
	await mode('pass');
	t.like(resultOf((await run('mitm-torn-00002')).end), {status: 'ok'}, 'the agent runs on');
});

test.serial('an agent whose results file is not ours at all starts, says so once, and runs', async t => {
	if (missing) {
		return skip(t);
	}

	await killAndRestart(() => {
		writeFileSync(resultsFile(), '\u0000\u00FF garbage\n{"at":1,"id":"x","text":5}\n', {mode: 0o600});
	});
	const damaged = fleet!.running.lines.filter(line => line.includes('"event":"relay.results-damaged"')).map(line => JSON.parse(line) as Record<string, unknown>);
	t.is(damaged.length, 1);
	t.like(damaged[0], {kept: 0, reason: `${resultsFile()} holds 2 damaged lines (torn by a crash, or not written by the agent): they are skipped, and the 0 readable results are kept`});
	t.is(readFileSync(resultsFile(), 'utf8'), '', 'rewritten with what was kept');
	await mode('pass');
	t.like(resultOf((await run('mitm-junk-000001')).end), {status: 'ok'});
});

test.serial('xi-exec run shows what the relay did on the way under the host, and the controller\'s audit keeps it', async t => {
	if (missing) {
		return skip(t);
	}

	await mode('duplicate-output');
	const home = fleet!.controllerHome;
	const plain = await runCli(controllerCli, ['run', 'echo-args', '--on', 'web1', '--home', home, '--', 'twice']);
	t.is(plain.code, 0, plain.stderr);
	const lines = plain.stdout.split('\n');
	t.true(lines.includes('web1 | [twice]'), plain.stdout);
	t.is(lines.filter(line => line === 'web1 | [twice]').length, 1, 'the duplicated chunk is shown once');
	t.true(lines.includes('web1 ~ the broker delivered a reply twice: the copy was dropped'), plain.stdout);
	const requestId = /request ([\da-f-]+)/.exec(plain.stdout)![1]!;
	const outcome = records(controllerPaths(home).auditLog).find(record => record['event'] === 'run.outcome' && record['requestId'] === requestId);
	t.like(outcome, {agent: 'web1', status: 'ok', via: 'relay', notes: ['the broker delivered a reply twice: the copy was dropped']});
});

test.serial('a result recovered by asking for the status is a note of the run: in run --json, the history and the audit', async t => {
	if (missing) {
		return skip(t);
	}

	// The controller asks after 15 s of silence (the default): this test waits that long once.
	await mode('drop-result');
	const home = fleet!.controllerHome;
	const result = await runCli(controllerCli, ['run', 'echo-args', '--on', 'web1', '--json', '--home', home, '--', 'lost']);
	t.is(result.code, 0, result.stderr + result.stdout);
	const document = JSON.parse(result.stdout) as {requestId: string; results: Array<Record<string, unknown>>};
	t.deepEqual(mitmDid(document.requestId), ['dropped result']);
	const notes = [
		'the run went quiet: the controller asked the agent for its status, and the agent knows the request',
		'the result came after the controller asked for the status: the agent sent it again (lost or late on the broker)',
	];
	t.like(document.results[0], {agent: 'web1', status: 'ok', stdout: '[lost]\n', via: 'relay', notes});
	const outcome = records(controllerPaths(home).auditLog).find(record => record['event'] === 'run.outcome' && record['requestId'] === document.requestId);
	t.like(outcome, {status: 'ok', via: 'relay', notes});
	const shown = await runCli(controllerCli, ['runs', 'show', document.requestId, '--json', '--home', home]);
	t.like((JSON.parse(shown.stdout) as {results: Array<Record<string, unknown>>}).results[0], {via: 'relay', notes});
});

test.serial('a result whose bytes were altered into ones that are not UTF-8 is refused as a forged signature, and audited so', async t => {
	if (missing) {
		return skip(t);
	}

	// End to end: a result altered on the broker is refused, shown and audited as a forged signature. The
	// agent never signed these bytes, so this holds with or without bytesAsSent's guard (the controller takes
	// the received bytes only when decoding lost nothing); that guard is pinned by envelope-decode's rows.
	await mode('garble-result');
	const home = fleet!.controllerHome;
	const result = await runCli(controllerCli, ['run', 'hello', '--on', 'web1', '--json', '--home', home]);
	const document = JSON.parse(result.stdout) as {requestId: string; results: Array<Record<string, unknown>>};
	t.deepEqual(mitmDid(document.requestId), ['garbled result']);
	const reason = 'over the relay: a reply\'s signature does not verify with agent web1\'s certificate';
	t.like(document.results[0], {agent: 'web1', status: 'error', reason, via: 'relay'});
	const outcome = records(controllerPaths(home).auditLog).find(record => record['event'] === 'run.outcome' && record['requestId'] === document.requestId);
	t.like(outcome, {agent: 'web1', status: 'error', reason, via: 'relay'});
	t.not(result.code, 0);
});

test.serial('a request whose signature was forged on the agent\'s broker is refused and audited', async t => {
	if (missing) {
		return skip(t);
	}

	const credentials = loadControllerCredentials(controllerPaths(fleet!.controllerHome));
	const facts = certificateFacts(Buffer.from(credentials.cert))!;
	const env: RequestEnvelope = requestEnvelope({id: 'mitm-forged-0001', seq: 1, agent: 'web1', fleet: certificateFacts(Buffer.from(credentials.ca))!.publicKeySha256, serial: facts.serial, iat: Date.now(), body: {type: 'run', script: 'hello', args: [], caller: 'mallory'}});
	const other = await privateKeyToPem((await generateKeyPair()).privateKey);
	// Signed with another key, carrying the pinned controller certificate.
	fleet!.spy.publish(relaySubjects.requests('web1'), sealMessage(env, signerFromPem(other, credentials.cert)));
	await fleet!.spy.flush();
	const refused = await waitFor(() => agentRecords('mitm-forged-0001').find(record => record['event'] === 'relay.refused'), 'the refusal');
	t.like(refused, {source: 'relay', code: 'forbidden', reason: 'the signature does not verify with the controller certificate'});
	t.false(agentRecords('mitm-forged-0001').some(record => record['event'] === 'request.received'));
});

test.serial('with the broker misconfigured, another agent answering as this one is refused by the controller and audited', async t => {
	if (missing) {
		return skip(t);
	}

	// web2 may read web1's requests and publish on web1's reply subjects: it answers each request
	// first, once as itself and once claiming to be web1 (with web1's serial, its own key).
	await mode('drop-result');
	const paths = agentPaths(fleet!.web2.home);
	const intruder = await connect({servers: fleet!.near.url, tls: brokerTls({cert: readFileSync(paths.cert, 'utf8'), key: readFileSync(paths.key, 'utf8'), ca: readFileSync(paths.ca, 'utf8')})});
	const key = readFileSync(paths.key, 'utf8');
	const serial = certificateFacts(readFileSync(paths.cert))!.serial;
	let claim: 'web2' | 'web1' = 'web2';
	// The first run request each controller process sends (sequences are clock based: no seq 1 to wait for).
	let answered = false;
	intruder.subscribe(relaySubjects.requests('web1'), {callback(error, message) {
		if (error || answered) {
			return;
		}

		const request = (JSON.parse(new TextDecoder().decode(message.data)) as {env: RequestEnvelope}).env;
		if ((request.body as {type?: string}).type !== 'run') {
			return;
		}

		answered = true;

		const hash = envelopeHash(request);
		const forged = {v: 1 as const, kind: 'reply' as const, id: request.id, seq: 1, agent: claim, serial: claim === 'web1' ? fleet!.target.serial : serial, req: hash, prev: hash, iat: Date.now(), body: {type: 'result' as const, id: request.id, status: 'ok' as const, exitCode: 0, signal: null, durationMs: 1, truncated: false, bytes: {stdout: 0, stderr: 0}}};
		intruder.publish(relaySubjects.reply('web1', request.id), sealMessage(forged, signerFromPem(key)));
	}});
	await intruder.flush();
	const home = fleet!.controllerHome;
	const first = await runCli(controllerCli, ['run', 'hello', '--on', 'web1', '--json', '--home', home]);
	claim = 'web1';
	answered = false;
	const second = await runCli(controllerCli, ['run', 'hello', '--on', 'web1', '--json', '--home', home]);
	await intruder.close();
	const outcome = (result: {stdout: string}) => {
		const document = JSON.parse(result.stdout) as {requestId: string; results: Array<Record<string, unknown>>};
		const record = records(controllerPaths(home).auditLog).find(entry => entry['event'] === 'run.outcome' && entry['requestId'] === document.requestId);
		return {shown: document.results[0], record};
	};

	const asWeb2 = outcome(first);
	t.like(asWeb2.shown, {agent: 'web1', status: 'error', reason: 'over the relay: a reply signed as agent web2 arrived for agent web1'});
	t.like(asWeb2.record, {agent: 'web1', status: 'error', reason: 'over the relay: a reply signed as agent web2 arrived for agent web1'});
	const asWeb1 = outcome(second);
	t.like(asWeb1.shown, {agent: 'web1', status: 'error', reason: 'over the relay: a reply\'s signature does not verify with agent web1\'s certificate'});
	t.like(asWeb1.record, {agent: 'web1', status: 'error', reason: 'over the relay: a reply\'s signature does not verify with agent web1\'s certificate'});
	t.not(first.code, 0);
});
