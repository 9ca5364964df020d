/**
 * The relay through the controller's faces, end to end: a real nats-server on 127.0.0.1 with the
 * fleet CA, an agent with `"listen": "none"` (no inbound port at all: it only dials out to the
 * broker) and an agent on direct TLS, and the `xi-exec` CLI itself. `xi-exec run` reaches both in
 * one run through the same run path (the registry record's transport chooses the link), `agents`
 * describes the relay agent through the broker, and both audit logs hold the run under one
 * request id, the agent's with the controller's signed head as witness. Secrets: sealed on the
 * way, and refused by the agent when an argument its allowlist marks secret comes in plaintext
 * (a table of cases, and an entry that became secret after the controller described it).
 */
import {randomBytes} from 'node:crypto';
import {readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {connect, type NatsConnection} from '@nats-io/transport-node';
import {allowScript} from '../../agent/commands.js';
import {agentPaths, readAgentConfig, writeAgentConfig} from '../../agent/home.js';
import {controllerPaths, loadControllerCredentials, openControllerRegistry} from '../../source/home.js';
import {openRelayLink} from '../../source/dispatch/relay-link.js';
import {certificateFacts} from '../../source/pki/certificate-facts.js';
import {requestEnvelope, sealMessage, signerFromPem, type RequestEnvelope} from '../../source/protocol/relay-envelope.js';
import {sealArgs} from '../../source/protocol/sealed-args.js';
import {noSecrets, secretArgsOf} from '../../source/protocol/secret-args.js';
import {relaySubjects} from '../../source/protocol/relay-subjects.js';
import {brokerTls} from '../../source/relay/broker-tls.js';
import {controllerCli, createController, enrolAgent, freePort, installFixture, installScript, runCli, startAgent, temporaryDirectory, waitFor, type RunningAgent, type TestAgent} from '../helpers/fleet.js';
import {natsServerMissing, startBroker, type Broker} from '../helpers/nats-broker.js';

const missing = natsServerMissing();
if (missing) {
	console.log(`relay run tests skipped: ${missing}`);
}

/** A broker operator configured wrongly on purpose: it may read every subject (as the operator of any broker can). */
const spyUser = '\t\t{user: "xi-exec:audit", permissions: {publish: {allow: [">"]}, subscribe: {allow: [">"]}}}\n';
/** set-password's schema marks its second argument secret; the script keeps what it got and says only its length. */
const secretSchema = JSON.stringify({type: 'array', prefixItems: [{type: 'string'}, {type: 'string', secret: true}], minItems: 2, items: false});

type Fleet = {controllerHome: string; broker: Broker; agents: Record<string, TestAgent>; running: RunningAgent[]; received: string; spy: NatsConnection};
let fleet: Fleet | undefined;

test.before(async () => {
	if (missing) {
		return;
	}

	const controllerHome = await createController();
	const scripts = {hello: installFixture('hello.sh')};
	const agents = {
		nat1: await enrolAgent(controllerHome, {name: 'nat1', port: freePort(), scripts, tags: ['site=depot']}),
		web1: await enrolAgent(controllerHome, {name: 'web1', port: freePort(), scripts, tags: ['site=hq']}),
		// Transport both: a direct TLS port and the broker.
		dual1: await enrolAgent(controllerHome, {name: 'dual1', port: freePort(), scripts, tags: ['site=depot']}),
	};
	const received = temporaryDirectory('xi-exec-received-');
	const setPassword = installScript('set-password', `#!/bin/sh\nprintf '%s' "$2" > "${received}/got-$1"\necho "user $1: password of \${#2} characters set"\n`);
	allowScript(agentPaths(agents.nat1.home), 'set-password', setPassword, {description: 'sets a password', schema: secretSchema});
	const broker = await startBroker(controllerHome, ['nat1', 'dual1'], spyUser);
	const paths = agentPaths(agents.nat1.home);
	writeAgentConfig(paths, {...readAgentConfig(paths), listen: 'none', relay: broker.url});
	const dualPaths = agentPaths(agents.dual1.home);
	writeAgentConfig(dualPaths, {...readAgentConfig(dualPaths), relay: broker.url});
	const transports: Record<string, 'nats' | 'both'> = {nat1: 'nats', dual1: 'both'};
	await openControllerRegistry(controllerPaths(controllerHome)).update(registry => ({
		...registry,
		agents: registry.agents.map(record => (transports[record.name] ? {...record, transport: transports[record.name], relay: broker.url} : record)),
	}));
	const running = [await startAgent(agents.nat1), await startAgent(agents.web1), await startAgent(agents.dual1)];
	for (const [index, name] of [[0, 'nat1'], [2, 'dual1']] as const) {
		await waitFor(() => running[index]!.lines.find(line => line.includes('"event":"relay.connected"')), `${name} to connect to the broker`);
	}

	const cpaths = controllerPaths(controllerHome);
	const spy = await connect({servers: broker.url, tls: brokerTls({cert: readFileSync(cpaths.auditCert, 'utf8'), key: readFileSync(cpaths.auditKey, 'utf8'), ca: readFileSync(cpaths.caCert, 'utf8')})});
	fleet = {controllerHome, broker, agents, running, received, spy};
});

test.after.always(async () => {
	await fleet?.spy.close();
	await Promise.all(fleet?.running.map(async running => running.stop()) ?? []);
	await fleet?.broker.stop();
});

const records = (path: string) => readFileSync(path, 'utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>);

test.serial('the relay agent listens nowhere: its start-up line says so', t => {
	if (missing) {
		t.log(`skipped: ${missing}`);
		return t.pass();
	}

	const listening = JSON.parse(fleet!.running[0]!.lines.find(line => line.includes('"event":"listening"'))!) as Record<string, unknown>;
	t.like(listening, {agent: 'nat1', address: 'none:relay only', relay: fleet!.broker.url});
});

test.serial('xi-exec run reaches a relay agent and a direct one in one run; both audits hold it', async t => {
	if (missing) {
		t.log(`skipped: ${missing}`);
		return t.pass();
	}

	const result = await runCli(controllerCli, ['run', 'hello', '--on', 'nat1', '--on', 'web1', '--json', '--home', fleet!.controllerHome]);
	t.is(result.code, 0, result.stderr);
	const document = JSON.parse(result.stdout) as {requestId: string; results: Array<Record<string, unknown>>};
	t.deepEqual(document.results.map(result => [result['agent'], result['status'], result['stdout']]).sort(), [
		['nat1', 'ok', 'hello from hello\nescape \u001B[2J here\n'],
		['web1', 'ok', 'hello from hello\nescape \u001B[2J here\n'],
	]);
	const {requestId} = document;

	const controller = records(controllerPaths(fleet!.controllerHome).auditLog);
	const request = controller.find(record => record['event'] === 'run.request' && record['requestId'] === requestId);
	t.deepEqual(request?.['targets'], ['nat1', 'web1']);
	const outcome = controller.find(record => record['event'] === 'run.outcome' && record['requestId'] === requestId && record['agent'] === 'nat1');
	t.like(outcome, {status: 'ok', exitCode: 0});
	t.truthy(outcome?.['agentHead'], 'the relay agent\'s signed audit head came back with the result');

	const agent = records(agentPaths(fleet!.agents.nat1!.home).auditLog);
	const received = agent.find(record => record['event'] === 'request.received' && record['requestId'] === requestId);
	t.like(received, {source: 'relay', script: 'hello'});
	t.truthy(received?.['controllerHead'], 'the agent recorded the controller\'s signed head as its witness');
	t.like(agent.find(record => record['event'] === 'run.finish' && record['requestId'] === requestId), {status: 'ok'});
});

test.serial('audit verify --cross: both agents\' logs agree with the controller\'s, the relay agent\'s as the direct one\'s', async t => {
	if (missing) {
		t.log(`skipped: ${missing}`);
		return t.pass();
	}

	const logs = [agentPaths(fleet!.agents.nat1!.home).auditLog, agentPaths(fleet!.agents.web1!.home).auditLog];
	const result = await runCli(controllerCli, ['audit', 'verify', '--cross', logs[0]!, '--cross', logs[1]!, '--home', fleet!.controllerHome]);
	t.is(result.code, 0, result.stdout + result.stderr);
	t.is(result.stdout.trimEnd().split('\n').at(-1), 'cross: ok, 2 agent logs agree with the controller');
	t.true(result.stdout.includes(`chain intact`) && result.stdout.includes(`(${logs[0]!})`), result.stdout);

	// The check can fail: the relay agent's log with its run's record removed is named broken.
	const cut = readFileSync(logs[0]!, 'utf8').split('\n').filter(line => !line.includes('"event":"run.finish"')).join('\n');
	const copy = join(temporaryDirectory(), 'nat1-cut.jsonl');
	writeFileSync(copy, cut, {mode: 0o600});
	const broken = await runCli(controllerCli, ['audit', 'verify', '--cross', copy, '--home', fleet!.controllerHome]);
	t.is(broken.code, 1, broken.stdout + broken.stderr);
	t.regex(broken.stdout, /the controller's witness of nat1 says record \d+ \(hash [\da-f]+…\) was written at .*: it was replaced/);
	t.regex(broken.stdout, /cross: the controller recorded ok on nat1 for request [\da-f-]+, but nat1's log has 0 executions of it/);
});

test.serial('xi-exec agents describes the relay agent through the broker', async t => {
	if (missing) {
		t.log(`skipped: ${missing}`);
		return t.pass();
	}

	const result = await runCli(controllerCli, ['agents', '--json', '--home', fleet!.controllerHome]);
	t.is(result.code, 0, result.stderr);
	const views = (JSON.parse(result.stdout) as {agents: Array<Record<string, unknown>>}).agents;
	t.like(views.find(view => view['name'] === 'nat1'), {status: 'reachable', transport: 'nats', lastSeenVia: 'relay', scripts: [{name: 'hello'}]});
	t.like(views.find(view => view['name'] === 'web1'), {status: 'reachable', transport: 'tls', lastSeenVia: 'tls'});
});

test.serial('xi-exec agents shows each agent\'s transport and when it was seen over which link', async t => {
	if (missing) {
		t.log(`skipped: ${missing}`);
		return t.pass();
	}

	const result = await runCli(controllerCli, ['agents', '--home', fleet!.controllerHome]);
	t.is(result.code, 0, result.stderr);
	const [header, ...rows] = result.stdout.trim().split('\n').map(line => line.split(/\s{2,}/));
	t.deepEqual(header, ['NAME', 'ADDRESS', 'TRANSPORT', 'STATUS', 'SCRIPTS', 'SEEN', 'EXPIRES', 'TAGS']);
	const row = (name: string) => rows.find(cells => cells[0] === name)!;
	t.deepEqual([row('nat1')[2], row('nat1')[3]], ['nats', 'reachable']);
	t.regex(row('nat1')[5]!, /^\d+ s ago via relay$/);
	t.deepEqual([row('web1')[2], row('web1')[3]], ['tls', 'reachable']);
	t.regex(row('web1')[5]!, /^\d+ s ago via direct TLS$/);
	// The registry's journal keeps the link for the next reader (the console, the API).
	const agents = (await openControllerRegistry(controllerPaths(fleet!.controllerHome)).read()).agents;
	t.deepEqual(agents.map(agent => [agent.name, agent.lastSeenVia]), [['dual1', 'tls'], ['nat1', 'relay'], ['web1', 'tls']]);
});

/** Every message on the broker while `action` runs, as the broker delivered it. */
async function overheard<T>(action: () => Promise<T>): Promise<{result: T; messages: Array<{subject: string; data: Buffer}>}> {
	const messages: Array<{subject: string; data: Buffer}> = [];
	const subscription = fleet!.spy.subscribe('>', {callback(error, message) {
		if (!error) {
			messages.push({subject: message.subject, data: Buffer.from(message.data)});
		}
	}});
	await fleet!.spy.flush();
	const result = await action();
	await fleet!.spy.flush();
	subscription.unsubscribe();
	return {result, messages};
}

test.serial('a secret argument crosses the broker sealed to the agent\'s key: the broker sees no plaintext, the script gets the value', async t => {
	if (missing) {
		t.log(`skipped: ${missing}`);
		return t.pass();
	}

	const secret = `S3cr3t-${randomBytes(12).toString('hex')}`;
	const {result, messages} = await overheard(async () => runCli(controllerCli, ['run', 'set-password', '--on', 'nat1', '--json', '--home', fleet!.controllerHome, '--', 'alice', secret]));
	t.is(result.code, 0, result.stderr + result.stdout);
	t.is(readFileSync(join(fleet!.received, 'got-alice'), 'utf8'), secret, 'the script received the real value');
	const runs = messages.filter(message => message.subject === relaySubjects.requests('nat1')).map(message => JSON.parse(message.data.toString()) as {env: RequestEnvelope}).filter(message => message.env.body.type === 'run');
	t.is(runs.length, 1, 'the spy overheard the run request');
	t.deepEqual((runs[0]!.env.body as {args: string[]}).args, ['alice', '']);
	t.deepEqual(runs[0]!.env.sealed?.positions, [1]);
	t.true(messages.some(message => message.subject.startsWith('xi.r.nat1.')), 'and the replies');
	for (const form of [secret, Buffer.from(secret).toString('base64'), Buffer.from(secret).toString('hex')]) {
		t.false(messages.some(message => message.data.includes(form)), `no message on the broker holds the secret (${form.slice(0, 8)}…)`);
	}
});

test.serial('a sealed blob moved into another envelope is refused, with its reason in the agent\'s audit', async t => {
	if (missing) {
		t.log(`skipped: ${missing}`);
		return t.pass();
	}

	const secret = `S3cr3t-${randomBytes(12).toString('hex')}`;
	const {messages} = await overheard(async () => runCli(controllerCli, ['run', 'set-password', '--on', 'nat1', '--json', '--home', fleet!.controllerHome, '--', 'bob', secret]));
	const original = messages.map(message => JSON.parse(message.data.toString()) as {env: RequestEnvelope}).find(message => message.env.kind === 'request' && message.env.body.type === 'run')!.env;
	// Someone holding the controller's key (the test) puts the blob in a new, validly signed envelope: it still does not open.
	const credentials = loadControllerCredentials(controllerPaths(fleet!.controllerHome));
	const moved = requestEnvelope({id: 'relay-moved-sealed', seq: 1, agent: 'nat1', fleet: original.fleet, serial: original.serial, iat: Date.now(), sealed: original.sealed!, body: {...original.body, args: ['mallory', '']} as RequestEnvelope['body']});
	fleet!.spy.publish(relaySubjects.requests('nat1'), sealMessage(moved, signerFromPem(credentials.key, credentials.cert)));
	await fleet!.spy.flush();
	const agentLog = agentPaths(fleet!.agents.nat1!.home).auditLog;
	const refused = await waitFor(() => records(agentLog).find(record => record['event'] === 'relay.refused' && record['requestId'] === 'relay-moved-sealed'), 'the refusal');
	t.like(refused, {source: 'relay', code: 'forbidden', reason: 'the sealed arguments of request relay-moved-sealed do not open with agent nat1\'s key (sealed for another request or agent, or altered on the way)'});
	t.false(records(agentLog).some(record => record['requestId'] === 'relay-moved-sealed' && record['event'] === 'request.received'), 'nothing was run');

	// The same blob in an envelope for another agent on the broker: sealed to nat1's key, it does not open there either.
	const toOther = requestEnvelope({id: 'relay-other-sealed', seq: 1, agent: 'dual1', fleet: original.fleet, serial: original.serial, iat: Date.now(), sealed: original.sealed!, body: original.body});
	fleet!.spy.publish(relaySubjects.requests('dual1'), sealMessage(toOther, signerFromPem(credentials.key, credentials.cert)));
	await fleet!.spy.flush();
	const otherLog = agentPaths(fleet!.agents.dual1!.home).auditLog;
	const refusedThere = await waitFor(() => records(otherLog).find(record => record['event'] === 'relay.refused' && record['requestId'] === 'relay-other-sealed'), 'the other agent\'s refusal');
	t.like(refusedThere, {source: 'relay', code: 'forbidden', reason: 'the sealed arguments of request relay-other-sealed do not open with agent dual1\'s key (sealed for another request or agent, or altered on the way)'});
	t.throws(() => readFileSync(join(fleet!.received, 'got-mallory')), {code: 'ENOENT'});
});

/** Signs and publishes a run envelope on nat1's request subject as the controller would (the test holds its key). */
async function publishRun(env: RequestEnvelope): Promise<void> {
	const credentials = loadControllerCredentials(controllerPaths(fleet!.controllerHome));
	fleet!.spy.publish(relaySubjects.requests(env.agent), sealMessage(env, signerFromPem(credentials.key, credentials.cert)));
	await fleet!.spy.flush();
}

/** A set-password run for nat1 with `args`, the values at `seal` sealed to nat1's key for this envelope, and `plain` put back in clear afterwards. */
async function setPasswordEnvelope(id: string, args: string[], seal: number[], plain: Record<number, string> = {}): Promise<RequestEnvelope> {
	const registry = await openControllerRegistry(controllerPaths(fleet!.controllerHome)).read();
	const nat1 = registry.agents.find(agent => agent.name === 'nat1')!;
	const credentials = loadControllerCredentials(controllerPaths(fleet!.controllerHome));
	const facts = certificateFacts(Buffer.from(credentials.cert))!;
	const env = requestEnvelope({id, seq: 1, agent: 'nat1', fleet: certificateFacts(Buffer.from(credentials.ca))!.publicKeySha256, serial: facts.serial, iat: Date.now(), body: {type: 'run', script: 'set-password', caller: 'mallory', args}});
	const result = sealArgs(args, seal, nat1.certificate!, {id, agent: 'nat1', nonce: env.nonce});
	return {...env, ...(result.sealed ? {sealed: result.sealed} : {}), body: {type: 'run', script: 'set-password', caller: 'mallory', args: result.args.map((value, index) => plain[index] ?? value)}};
}

const plaintextReason = (script: string) => `argument 2 of ${script} is secret on this agent (its allowlist schema) but came in plaintext, not sealed to this agent's key: nothing ran. The broker saw that value: change it, then run again (the controller seals what the agent describes as secret)`;

test.serial('the agent refuses a secret argument that came in plaintext, whatever the controller sealed: each case audited, nothing run', async t => {
	if (missing) {
		t.log(`skipped: ${missing}`);
		return t.pass();
	}

	const agentLog = agentPaths(fleet!.agents.nat1!.home).auditLog;
	const secret = `S3cr3t-${randomBytes(12).toString('hex')}`;
	const cases: Array<{id: string; user: string; seal: number[]; plain?: Record<number, string>; reason: string}> = [
		{id: 'relay-plain-secret1', user: 'carol', seal: [], reason: plaintextReason('set-password')},
		{id: 'relay-plain-secret2', user: 'dan', seal: [0], reason: plaintextReason('set-password')},
		{id: 'relay-plain-secret3', user: 'erin', seal: [1], plain: {1: secret}, reason: 'sealed argument positions 1 do not match the run\'s 2 arguments (each sealed one must be "")'},
	];
	for (const each of cases) {
		await publishRun(await setPasswordEnvelope(each.id, [each.user, secret], each.seal, each.plain));
	}

	for (const each of cases) {
		const refused = await waitFor(() => records(agentLog).find(record => record['event'] === 'relay.refused' && record['requestId'] === each.id), `the refusal of ${each.id}`);
		t.like(refused, {source: 'relay', code: 'forbidden', reason: each.reason}, each.id);
		t.false(records(agentLog).some(record => record['requestId'] === each.id && record['event'] === 'request.received'), `${each.id} never reached the run`);
		t.throws(() => readFileSync(join(fleet!.received, `got-${each.user}`)), {code: 'ENOENT'}, `${each.id}: the script never ran`);
	}

	t.false(readFileSync(agentLog, 'utf8').includes(secret), 'the refusals do not repeat the secret');
	t.false(fleet!.running[0]!.lines.some(line => line.includes(secret)), 'nor does the agent\'s log');
});

test.serial('an entry that became secret after the controller described it: the plaintext run is refused, the next run described again is sealed', async t => {
	if (missing) {
		t.log(`skipped: ${missing}`);
		return t.pass();
	}

	const nat1 = fleet!.running[0]!;
	const paths = agentPaths(fleet!.agents.nat1!.home);
	const setPin = installScript('set-pin', `#!/bin/sh\nprintf '%s' "$2" > "${fleet!.received}/pin-$1"\n`);
	const reload = async () => {
		const before = nat1.lines.filter(line => line.includes('"event":"allowlist.reloaded"')).length;
		nat1.process.kill('SIGHUP');
		await waitFor(() => (nat1.lines.filter(line => line.includes('"event":"allowlist.reloaded"')).length > before ? true : undefined), 'the allowlist to be reloaded');
	};

	allowScript(paths, 'set-pin', setPin, {description: 'sets a PIN', schema: JSON.stringify({type: 'array', prefixItems: [{type: 'string'}, {type: 'string'}], minItems: 2, items: false})});
	await reload();
	const credentials = loadControllerCredentials(controllerPaths(fleet!.controllerHome));
	const record = (await openControllerRegistry(controllerPaths(fleet!.controllerHome)).read()).agents.find(agent => agent.name === 'nat1')!;
	const target = {name: 'nat1', serial: record.serial, certificate: record.certificate!};
	const link = await openRelayLink({url: fleet!.broker.url, credentials});
	t.teardown(async () => link.close());
	const described = await link.exchange(target, {type: 'describe', id: 'relay-describe-pin1'}, {connectTimeoutMs: 10_000, deadlineMs: 30_000});
	const scripts = described.kind === 'terminal' && described.frame.type === 'description' ? described.frame.scripts : [];
	t.deepEqual(secretArgsOf(scripts.find(script => script.name === 'set-pin')?.args), noSecrets, 'described with nothing secret');

	// The operator marks the PIN secret on the host after that description.
	allowScript(paths, 'set-pin', setPin, {description: 'sets a PIN', schema: JSON.stringify({type: 'array', prefixItems: [{type: 'string'}, {type: 'string', secret: true}], minItems: 2, items: false})});
	await reload();
	const pin = String(randomBytes(4).readUInt32BE());
	const end = await link.exchange(target, {type: 'run', id: 'relay-stale-pin01', script: 'set-pin', args: ['frank', pin], caller: 'alice', timeoutMs: 20_000}, {connectTimeoutMs: 10_000, deadlineMs: 30_000});
	t.deepEqual(end, {kind: 'terminal', frame: {v: 1, type: 'error', id: 'relay-stale-pin01', code: 'forbidden', message: `refused: ${plaintextReason('set-pin')}`}});
	const agentLog = agentPaths(fleet!.agents.nat1!.home).auditLog;
	// The refusal is answered at once and written to the audit log beside it: wait for the record.
	const refused = await waitFor(() => records(agentLog).find(record => record['event'] === 'relay.refused' && record['requestId'] === 'relay-stale-pin01'), 'the refusal');
	t.like(refused, {code: 'forbidden', reason: plaintextReason('set-pin')});
	t.throws(() => readFileSync(join(fleet!.received, 'pin-frank')), {code: 'ENOENT'}, 'never run');

	// xi-exec run describes the agent again and seals the PIN: it runs.
	const next = String(randomBytes(4).readUInt32BE());
	const result = await runCli(controllerCli, ['run', 'set-pin', '--on', 'nat1', '--json', '--home', fleet!.controllerHome, '--', 'frank', next]);
	t.is(result.code, 0, result.stderr + result.stdout);
	t.is(readFileSync(join(fleet!.received, 'pin-frank'), 'utf8'), next);
});

const runDocument = (stdout: string) => JSON.parse(stdout) as {requestId: string; results: Array<Record<string, unknown>>};

test.serial('an agent of transport both is reached directly while its port answers, and over the relay when it does not', async t => {
	if (missing) {
		t.log(`skipped: ${missing}`);
		return t.pass();
	}

	const home = fleet!.controllerHome;
	const agentLog = agentPaths(fleet!.agents.dual1!.home).auditLog;
	const direct = await runCli(controllerCli, ['run', 'hello', '--on', 'dual1', '--json', '--home', home]);
	t.is(direct.code, 0, direct.stderr);
	const directDocument = runDocument(direct.stdout);
	t.like(directDocument.results[0], {agent: 'dual1', status: 'ok', via: 'tls'});
	t.is(directDocument.results[0]!['notes'], undefined);
	t.not(records(agentLog).find(record => record['event'] === 'request.received' && record['requestId'] === directDocument.requestId)?.['source'], 'relay');

	// The device's listener goes away (it now listens nowhere); the registry still says both.
	await fleet!.running[2]!.stop();
	const paths = agentPaths(fleet!.agents.dual1!.home);
	writeAgentConfig(paths, {...readAgentConfig(paths), listen: 'none'});
	fleet!.running[2] = await startAgent(fleet!.agents.dual1!);
	await waitFor(() => fleet!.running[2]!.lines.find(line => line.includes('"event":"relay.connected"')), 'dual1 to connect to the broker again');

	const relayed = await runCli(controllerCli, ['run', 'hello', '--on', 'dual1', '--json', '--home', home]);
	t.is(relayed.code, 0, relayed.stderr);
	const document = runDocument(relayed.stdout);
	t.like(document.results[0], {agent: 'dual1', status: 'ok', via: 'relay', stdout: 'hello from hello\nescape \u001B[2J here\n'});
	t.regex(String((document.results[0]!['notes'] as string[])[0]), /^direct TLS: connection refused by 127\.0\.0\.1:\d+ \(is the agent running\?\); tried the relay$/);
	t.like(records(agentLog).find(record => record['event'] === 'request.received' && record['requestId'] === document.requestId), {source: 'relay'});

	// The controller's audit, its history and the agents view name the link used.
	const outcome = records(controllerPaths(home).auditLog).find(record => record['event'] === 'run.outcome' && record['requestId'] === document.requestId);
	t.like(outcome, {agent: 'dual1', status: 'ok', via: 'relay'});
	const shown = await runCli(controllerCli, ['runs', 'show', document.requestId, '--json', '--home', home]);
	t.is(shown.code, 0, shown.stderr);
	t.like(runDocument(shown.stdout).results[0], {agent: 'dual1', via: 'relay'});
	const agents = (await openControllerRegistry(controllerPaths(home)).read()).agents;
	t.is(agents.find(agent => agent.name === 'dual1')?.lastSeenVia, 'relay');
	const listed = await runCli(controllerCli, ['agents', '--json', '--home', home]);
	t.like((JSON.parse(listed.stdout) as {agents: Array<Record<string, unknown>>}).agents.find(view => view['name'] === 'dual1'), {transport: 'both', status: 'reachable', lastSeenVia: 'relay'});
});
