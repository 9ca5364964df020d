/**
 * The relay end to end: a real nats-server on 127.0.0.1 with the fleet CA and the generated
 * least-privilege configuration, real `xi-exec-agent start` processes that dial out to it, and
 * the controller's relay link. Then what a hostile broker (a spy user with every permission, as
 * a broker operator has) or another agent on it can try: replay a request (also after the agent
 * restarted), deliver another agent's request, send an expired one or one signed by a controller
 * certificate that is not pinned, forge or duplicate replies, subscribe to or answer on another
 * agent's subjects. Each case asserts the refusal and the audit record it leaves.
 */
import {readFileSync} from 'node:fs';
import {setTimeout as delay} from 'node:timers/promises';
import test from 'ava';
import {connect, type NatsConnection} from '@nats-io/transport-node';
import {agentPaths, readAgentConfig, writeAgentConfig} from '../../agent/home.js';
import {controllerPaths, loadCertificateAuthority, loadControllerCredentials} from '../../source/home.js';
import type {ExchangeEnd} from '../../source/dispatch/agent-connection.js';
import {generateKeyPair, issueCertificate, normaliseSerial, privateKeyToPem} from '../../source/pki/index.js';
import type {ResponseFrame} from '../../source/protocol/frames.js';
import {envelopeHash, requestEnvelope, sealMessage, signerFromPem, type RequestEnvelope} from '../../source/protocol/relay-envelope.js';
import {relaySubjects} from '../../source/protocol/relay-subjects.js';
import {brokerTls} from '../../source/relay/broker-tls.js';
import {openRelayLink, type RelayLink, type RelayTarget} from '../../source/dispatch/relay-link.js';
import {openControllerRegistry} from '../../source/home.js';
import {createController, enrolAgent, freePort, installFixture, startAgent, type RunningAgent, type TestAgent} from '../helpers/fleet.js';
import {natsServerMissing, startBroker, type Broker} from '../helpers/nats-broker.js';

const missing = natsServerMissing();
if (missing) {
	console.log(`relay tests skipped: ${missing}`);
}

const spyUser = '\t\t{user: "xi-exec:audit", permissions: {publish: {allow: [">"]}, subscribe: {allow: [">"]}}}\n';

type Fleet = {controllerHome: string; broker: Broker; agents: Record<string, TestAgent>; running: Record<string, RunningAgent>; link: RelayLink; spy: NatsConnection; targets: Record<string, RelayTarget>};
let fleet: Fleet | undefined;

const wait = async (what: string, condition: () => boolean, limitMs = 30_000) => {
	const started = Date.now();
	while (!condition()) {
		if (Date.now() - started > limitMs) {
			throw new Error(`timed out waiting for ${what}`);
		}

		await delay(20);
	}
};

async function startRelayAgent(agent: TestAgent): Promise<RunningAgent> {
	const running = await startAgent(agent);
	await wait(`${agent.name} to connect to the broker`, () => running.lines.some(line => line.includes('"event":"relay.connected"')));
	return running;
}

test.before(async () => {
	if (missing) {
		return;
	}

	const controllerHome = await createController();
	const scripts = {hello: installFixture('hello.sh'), 'sleep-long': installFixture('sleep-long.sh'), touch: installFixture('touch-marker.sh')};
	const agents: Record<string, TestAgent> = {};
	for (const name of ['web1', 'web.2']) {
		agents[name] = await enrolAgent(controllerHome, {name, port: freePort(), scripts});
	}

	const broker = await startBroker(controllerHome, Object.keys(agents), spyUser);
	for (const agent of Object.values(agents)) {
		const paths = agentPaths(agent.home);
		writeAgentConfig(paths, {...readAgentConfig(paths), relay: broker.url});
	}

	const running: Record<string, RunningAgent> = {};
	for (const [name, agent] of Object.entries(agents)) {
		running[name] = await startRelayAgent(agent);
	}

	const paths = controllerPaths(controllerHome);
	const credentials = loadControllerCredentials(paths);
	const link = await openRelayLink({url: broker.url, credentials});
	const spy = await connect({servers: broker.url, tls: brokerTls({cert: readFileSync(paths.auditCert, 'utf8'), key: readFileSync(paths.auditKey, 'utf8'), ca: credentials.ca})});
	const registry = await openControllerRegistry(paths).read();
	const targets = Object.fromEntries(registry.agents.map(record => [record.name, {name: record.name, serial: record.serial, certificate: record.certificate!}]));
	fleet = {controllerHome, broker, agents, running, link, spy, targets};
});

test.after.always(async () => {
	if (!fleet) {
		return;
	}

	await fleet.link.close();
	await fleet.spy.close();
	await Promise.all(Object.values(fleet.running).map(async running => running.stop()));
	await fleet.broker.stop();
});

const runRequest = (id: string, script: string, args: string[] = []) => ({type: 'run' as const, id, script, args, caller: 'alice', timeoutMs: 20_000});

async function run(agent: string, id: string, script: string, args: string[] = [], cancel?: AbortSignal): Promise<{end: ExchangeEnd; frames: ResponseFrame[]; notices: string[]}> {
	const frames: ResponseFrame[] = [];
	const notices: string[] = [];
	const end = await fleet!.link.exchange(fleet!.targets[agent]!, runRequest(id, script, args), {
		connectTimeoutMs: 10_000,
		deadlineMs: 30_000,
		onFrame: frame => frames.push(frame),
		onNotice: notice => notices.push(notice),
		...(cancel ? {cancel: {signal: cancel, caller: 'bob', graceMs: 10_000}} : {}),
	});
	return {end, frames, notices};
}

const stdout = (frames: ResponseFrame[]) => frames.map(frame => (frame.type === 'stdout' ? frame.data : '')).join('');
const auditRecords = (agent: string) => readFileSync(agentPaths(fleet!.agents[agent]!.home).auditLog, 'utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>);
const resultOf = (end: ExchangeEnd) => (end.kind === 'terminal' && end.frame.type === 'result' ? end.frame : undefined);
const skip = (t: {log: (text: string) => void; pass: () => void}) => {
	t.log(`skipped: ${missing}`);
	t.pass();
};

test.serial('a run over the relay streams its output and ends with the signed result', async t => {
	if (missing) {
		return skip(t);
	}

	const {end, frames} = await run('web1', 'relay-hello-0001', 'hello');
	t.like(resultOf(end), {status: 'ok', exitCode: 0});
	t.deepEqual(frames.map(frame => frame.type), ['started', 'stdout']);
	t.is(stdout(frames), 'hello from hello\nescape \u001B[2J here\n');
	const received = auditRecords('web1').find(record => record['event'] === 'request.received' && record['requestId'] === 'relay-hello-0001');
	t.like(received, {source: 'relay', caller: 'alice'});
});

test.serial('an agent name with a dot has its own subject and answers', async t => {
	if (missing) {
		return skip(t);
	}

	t.like(resultOf((await run('web.2', 'relay-dotted-01', 'hello')).end), {status: 'ok'});
});

test.serial('a cancel over the relay stops the script and the run ends cancelled', async t => {
	if (missing) {
		return skip(t);
	}

	const cancel = new AbortController();
	const pending = run('web1', 'relay-cancel-001', 'sleep-long', [], cancel.signal);
	await wait('the script to start', () => auditRecords('web1').some(record => record['event'] === 'run.start' && record['requestId'] === 'relay-cancel-001'));
	cancel.abort('cancelled');
	const {end, frames, notices} = await pending;
	t.like(resultOf(end), {status: 'cancelled'});
	const pid = Number(/started (\d+)/.exec(stdout(frames))?.[1]);
	t.true(pid > 0);
	t.throws(() => process.kill(pid, 0), {code: 'ESRCH'});
	t.true(notices.includes('cancel delivered'));
	t.like(auditRecords('web1').find(record => record['event'] === 'cancel' && record['requestId'] === 'relay-cancel-001'), {caller: 'bob', found: true});
});

/** The next request the spy sees on `subject`, as the broker delivered it. */
function capture(subject: string): Promise<string> {
	return new Promise(resolve => {
		const subscription = fleet!.spy.subscribe(subject, {
			max: 1,
			callback(error, message) {
				if (!error) {
					resolve(new TextDecoder().decode(message.data));
				}
			},
		});
		void subscription;
	});
}

const refusals = (agent: string, id: string) => auditRecords(agent).filter(record => record['event'] === 'relay.refused' && record['requestId'] === id);

test.serial('a replayed request is refused, also after the agent restarted, and runs once', async t => {
	if (missing) {
		return skip(t);
	}

	const captured = capture(relaySubjects.requests('web1'));
	await fleet!.spy.flush();
	const marker = `/tmp/xi-relay-replay-${process.pid}-${Date.now()}`;
	t.like(resultOf((await run('web1', 'relay-replay-001', 'touch', [marker])).end), {status: 'ok'});
	const message = await captured;
	fleet!.spy.publish(relaySubjects.requests('web1'), message);
	await wait('the refusal', () => refusals('web1', 'relay-replay-001').length === 1);
	t.like(refusals('web1', 'relay-replay-001')[0], {code: 'replayed'});

	await fleet!.running['web1']!.stop();
	fleet!.running['web1'] = await startRelayAgent(fleet!.agents['web1']!);
	fleet!.spy.publish(relaySubjects.requests('web1'), message);
	await wait('the refusal after the restart', () => refusals('web1', 'relay-replay-001').length === 2);
	t.like(refusals('web1', 'relay-replay-001')[1], {code: 'replayed'});
	t.is(auditRecords('web1').filter(record => record['event'] === 'run.start' && record['requestId'] === 'relay-replay-001').length, 1);
});

test.serial('another agent\'s request delivered to this agent is refused', async t => {
	if (missing) {
		return skip(t);
	}

	const captured = capture(relaySubjects.requests('web.2'));
	await fleet!.spy.flush();
	t.like(resultOf((await run('web.2', 'relay-other-0001', 'hello')).end), {status: 'ok'});
	fleet!.spy.publish(relaySubjects.requests('web1'), await captured);
	await wait('the refusal', () => refusals('web1', 'relay-other-0001').length === 1);
	t.like(refusals('web1', 'relay-other-0001')[0], {code: 'forbidden', reason: 'the request is for agent web.2, not web1'});
});

async function forgedRequest(env: RequestEnvelope, keyPem: string, certPem: string): Promise<void> {
	fleet!.spy.publish(relaySubjects.requests(env.agent), sealMessage(env, signerFromPem(keyPem, certPem)));
	await fleet!.spy.flush();
}

test.serial('an expired request and one signed by an unpinned controller certificate are refused', async t => {
	if (missing) {
		return skip(t);
	}

	const paths = controllerPaths(fleet!.controllerHome);
	const credentials = loadControllerCredentials(paths);
	const ca = await loadCertificateAuthority(paths);
	const fleetHash = (await import('../../source/pki/certificate-facts.js')).certificateFacts(Buffer.from(credentials.ca))!.publicKeySha256;
	const serial = (await import('../../source/pki/certificate-facts.js')).certificateFacts(Buffer.from(credentials.cert))!.serial;
	const body = {type: 'run' as const, script: 'hello', args: [], caller: 'mallory'};
	await forgedRequest(requestEnvelope({id: 'relay-expired-01', seq: 1, agent: 'web1', fleet: fleetHash, serial, iat: Date.now() - 120_000, exp: Date.now() - 60_000, body}), credentials.key, credentials.cert);
	const keys = await generateKeyPair();
	const other = await issueCertificate({ca, publicKey: keys.publicKey, identity: {role: 'controller'}, now: new Date()});
	const otherSerial = normaliseSerial(other.serialNumber);
	await forgedRequest(requestEnvelope({id: 'relay-unpinned-1', seq: 1, agent: 'web1', fleet: fleetHash, serial: otherSerial, iat: Date.now(), body}), await privateKeyToPem(keys.privateKey), other.toString('pem'));
	await wait('both refusals', () => refusals('web1', 'relay-expired-01').length + refusals('web1', 'relay-unpinned-1').length === 2);
	t.like(refusals('web1', 'relay-expired-01')[0], {code: 'stale'});
	t.regex(String(refusals('web1', 'relay-expired-01')[0]!['reason']), /expired 60 s ago/);
	t.like(refusals('web1', 'relay-unpinned-1')[0], {code: 'unpinned', reason: `controller certificate serial ${otherSerial} is not the pinned one`});
	t.false(auditRecords('web1').some(record => record['event'] === 'request.received' && ['relay-expired-01', 'relay-unpinned-1'].includes(String(record['requestId']))));
});

test.serial('replies the broker duplicates are dropped and the result is right', async t => {
	if (missing) {
		return skip(t);
	}

	const subscription = fleet!.spy.subscribe(relaySubjects.reply('web1', 'relay-dupes-0001'), {
		callback(error, message) {
			if (!error) {
				fleet!.spy.publish(message.subject, message.data);
			}
		},
	});
	await fleet!.spy.flush();
	const {end, frames, notices} = await run('web1', 'relay-dupes-0001', 'hello');
	subscription.unsubscribe();
	t.like(resultOf(end), {status: 'ok'});
	t.is(stdout(frames), 'hello from hello\nescape \u001B[2J here\n');
	t.true(notices.some(notice => notice === 'the broker delivered a reply twice: the copy was dropped'));
});

test.serial('a result forged on the broker ends the run as an error, never as the forged result', async t => {
	if (missing) {
		return skip(t);
	}

	const keys = await generateKeyPair();
	const key = await privateKeyToPem(keys.privateKey);
	const subscription = fleet!.spy.subscribe(relaySubjects.requests('web1'), {
		max: 1,
		callback(error, message) {
			if (error) {
				return;
			}

			const request = (JSON.parse(new TextDecoder().decode(message.data)) as {env: RequestEnvelope}).env;
			const hash = envelopeHash(request);
			const forged = {v: 1 as const, kind: 'reply' as const, id: request.id, seq: 1, agent: 'web1', serial: fleet!.targets['web1']!.serial, req: hash, prev: hash, iat: Date.now(), body: {type: 'result' as const, id: request.id, status: 'ok' as const, exitCode: 0, signal: null, durationMs: 1, truncated: false, bytes: {stdout: 0, stderr: 0}}};
			fleet!.spy.publish(relaySubjects.reply('web1', request.id), sealMessage(forged, signerFromPem(key)));
		},
	});
	await fleet!.spy.flush();
	const {end} = await run('web1', 'relay-forged-001', 'hello');
	subscription.unsubscribe();
	t.deepEqual(end, {kind: 'protocol', reason: 'over the relay: a reply\'s signature does not verify with agent web1\'s certificate'});
});

test.serial('the broker refuses an agent subscribing to another agent\'s requests or answering as another agent', async t => {
	if (missing) {
		return skip(t);
	}

	const home = fleet!.agents['web.2']!.home;
	const paths = agentPaths(home);
	const intruder = await connect({servers: fleet!.broker.url, tls: brokerTls({cert: readFileSync(paths.cert, 'utf8'), key: readFileSync(paths.key, 'utf8'), ca: readFileSync(paths.ca, 'utf8')})});
	const errors: string[] = [];
	const statuses = (async () => {
		for await (const status of intruder.status()) {
			if (status.type === 'error') {
				errors.push(status.error.message);
			}
		}
	})();
	const received: string[] = [];
	intruder.subscribe(relaySubjects.requests('web1'), {callback(error, message) {
		if (!error) {
			received.push(message.subject);
		}
	}});
	intruder.publish(relaySubjects.reply('web1', 'relay-intrude-01'), 'forged');
	await intruder.flush().catch(() => undefined);
	await wait('the broker\'s two refusals', () => errors.length >= 2);
	t.deepEqual(errors.sort(), ['Permissions Violation for Publish to "xi.r.web1.relay-intrude-01"', 'Permissions Violation for Subscription to "xi.a.web1.req"']);
	t.like(resultOf((await run('web1', 'relay-intrude-02', 'hello')).end), {status: 'ok'});
	t.deepEqual(received, []);
	await intruder.close();
	await statuses;
});

test.serial('an agent removed from the broker configuration is dropped and unreachable', async t => {
	if (missing) {
		return skip(t);
	}

	await fleet!.broker.configure(['web1']);
	await wait('web.2 to lose the broker', () => fleet!.running['web.2']!.lines.some(line => /"event":"relay\.(disconnect|error)"/.test(line)));
	const end = await fleet!.link.exchange(fleet!.targets['web.2']!, runRequest('relay-removed-01', 'hello'), {connectTimeoutMs: 2000, deadlineMs: 10_000});
	t.is(end.kind, 'unreachable');
	t.false(auditRecords('web.2').some(record => record['requestId'] === 'relay-removed-01'));
});
