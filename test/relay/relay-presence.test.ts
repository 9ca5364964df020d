/**
 * Signed presence over a real nats-server: a relay agent's heartbeat makes it "seen via relay" in
 * the registry, and nothing a hostile publisher on the broker sends does (a broker user given every
 * permission on purpose, as a broker operator has): a presence for another agent signed with the
 * wrong key, a genuine one moved to another agent's subject or replayed, one naming the wrong
 * serial, one for an agent the registry does not hold as a relay agent, an old one signed with the
 * right key, and bytes that are not a presence. Each case asserts the exact refusal. Then what
 * operators see: `xi-exec serve` writes the presence it counted, a broker first used after it
 * started is watched too, and `xi-exec agents` shows the agent "seen … via relay" from it.
 */
import {readFileSync, statSync, writeFileSync} from 'node:fs';
import test from 'ava';
import {connect, type NatsConnection} from '@nats-io/transport-node';
import {agentPaths, readAgentConfig, writeAgentConfig} from '../../agent/home.js';
import {controllerPaths, loadControllerCredentials, openControllerRegistry} from '../../source/home.js';
import {sealMessage, signerFromPem} from '../../source/protocol/relay-envelope.js';
import {relaySubjects} from '../../source/protocol/relay-subjects.js';
import {brokerTls} from '../../source/relay/broker-tls.js';
import {presenceEnvelope} from '../../source/relay/presence.js';
import {watchPresence, type PresenceWatch} from '../../source/relay/presence-watch.js';
import {controllerCli, createController, enrolAgent, freePort, runCli, spawnCli, startAgent, waitFor, type RunningAgent, type TestAgent} from '../helpers/fleet.js';
import {natsServerMissing, startBroker, type Broker} from '../helpers/nats-broker.js';

const missing = natsServerMissing();
if (missing) {
	console.log(`relay presence tests skipped: ${missing}`);
}

const spyUser = '\t\t{user: "xi-exec:audit", permissions: {publish: {allow: [">"]}, subscribe: {allow: [">"]}}}\n';

type Fleet = {controllerHome: string; broker: Broker; web1: TestAgent; web2: TestAgent; running?: RunningAgent; spy: NatsConnection; watch: PresenceWatch; refusals: string[]; captured: string[]};
let fleet: Fleet | undefined;

test.before(async () => {
	if (missing) {
		return;
	}

	const controllerHome = await createController();
	const web1 = await enrolAgent(controllerHome, {name: 'web1', port: freePort()});
	const web2 = await enrolAgent(controllerHome, {name: 'web2', port: freePort()});
	const broker = await startBroker(controllerHome, ['web1', 'web2'], spyUser);
	const paths = controllerPaths(controllerHome);
	await openControllerRegistry(paths).update(registry => ({...registry, agents: registry.agents.map(record => ({...record, transport: 'nats' as const, relay: broker.url}))}));
	const credentials = loadControllerCredentials(paths);
	const spy = await connect({servers: broker.url, tls: brokerTls({cert: readFileSync(paths.auditCert, 'utf8'), key: readFileSync(paths.auditKey, 'utf8'), ca: credentials.ca})});
	const captured: string[] = [];
	spy.subscribe(relaySubjects.presence('web1'), {callback(error, message) {
		if (!error) {
			captured.push(new TextDecoder().decode(message.data));
		}
	}});
	await spy.flush();
	const refusals: string[] = [];
	// Flushed by the tests themselves (a long period: no flush happens between their steps).
	const watch = await watchPresence({url: broker.url, credentials, registry: openControllerRegistry(paths), flushMs: 3_600_000, onRefused: reason => refusals.push(reason)});
	fleet = {controllerHome, broker, web1, web2, spy, watch, refusals, captured};
});

test.after.always(async () => {
	await fleet?.watch.close();
	await fleet?.spy.close();
	await fleet?.running?.stop();
	await fleet?.broker.stop();
});

const skip = (t: {log: (text: string) => void; pass: () => void}) => {
	t.log(`skipped: ${missing}`);
	t.pass();
};

const seen = async (name: string) => (await openControllerRegistry(controllerPaths(fleet!.controllerHome)).read()).agents.find(agent => agent.name === name);

test.serial('a relay agent\'s signed heartbeat makes it seen via relay', async t => {
	if (missing) {
		return skip(t);
	}

	const paths = agentPaths(fleet!.web1.home);
	writeAgentConfig(paths, {...readAgentConfig(paths), listen: 'none', relay: fleet!.broker.url});
	fleet!.running = await startAgent(fleet!.web1);
	await waitFor(() => (fleet!.captured.length > 0 ? true : undefined), 'web1\'s first heartbeat');
	// The heartbeat reached the spy; the watch subscribed before it, so it gets it too.
	for (const started = Date.now(); (await seen('web1'))?.lastSeen === undefined && Date.now() - started < 30_000;) {
		await fleet!.watch.flush();
	}

	t.like(await seen('web1'), {lastSeenVia: 'relay'});
	t.truthy((await seen('web1'))?.lastSeen);
	t.deepEqual(fleet!.refusals, []);
});

test.serial('nothing a hostile publisher sends makes another agent seen, and each is refused for its reason', async t => {
	if (missing) {
		return skip(t);
	}

	const registry = (await openControllerRegistry(controllerPaths(fleet!.controllerHome)).read()).agents;
	const serial = (name: string) => registry.find(agent => agent.name === name)!.serial;
	const key = (agent: TestAgent) => signerFromPem(readFileSync(agentPaths(agent.home).key, 'utf8'));
	const spyKey = signerFromPem(readFileSync(controllerPaths(fleet!.controllerHome).auditKey, 'utf8'));
	const genuine = fleet!.captured.at(-1)!;
	const iat = Date.now();
	const cases: Array<{subject: string; text: string; reason: string}> = [
		{subject: relaySubjects.presence('web2'), text: sealMessage(presenceEnvelope('web2', serial('web2'), iat), spyKey), reason: 'agent web2\'s presence signature does not verify with its certificate'},
		{subject: relaySubjects.presence('web2'), text: sealMessage(presenceEnvelope('web2', serial('web2'), iat), key(fleet!.web1)), reason: 'agent web2\'s presence signature does not verify with its certificate'},
		{subject: relaySubjects.presence('web2'), text: genuine, reason: 'a presence of agent web1 arrived on xi.p.web2, not on its own subject'},
		{subject: relaySubjects.presence('web1'), text: genuine, reason: `agent web1's presence of ${new Date((JSON.parse(genuine) as {env: {iat: number}}).env.iat).toISOString()} is not newer than the last one counted: replayed`},
		{subject: relaySubjects.presence('web2'), text: sealMessage(presenceEnvelope('web2', serial('web1'), iat), key(fleet!.web1)), reason: `agent web2's presence names certificate serial ${serial('web1')}; the registry holds ${serial('web2')}`},
		{subject: relaySubjects.presence('ghost'), text: sealMessage(presenceEnvelope('ghost', serial('web1'), iat), key(fleet!.web1)), reason: 'agent ghost is not a relay agent in the registry'},
		{subject: relaySubjects.presence('web2'), text: sealMessage(presenceEnvelope('web2', serial('web2'), iat - 600_000), key(fleet!.web2)), reason: 'agent web2\'s presence was issued 600 s away from the controller\'s clock (window ±300 s)'},
		{subject: relaySubjects.presence('web2'), text: '{"env":{"v":1,"kind":"presence","agent":"web2"}}', reason: 'a presence message must be a JSON object {env, sig}'},
		{subject: relaySubjects.presence('web2'), text: JSON.stringify({env: {...presenceEnvelope('web2', serial('web2'), iat), extra: 1}, sig: 'AA=='}), reason: 'a presence envelope must be {v: 1, kind: "presence", agent, serial, iat}'},
	];
	for (const each of cases) {
		fleet!.spy.publish(each.subject, each.text);
	}

	await fleet!.spy.flush();
	await waitFor(() => (fleet!.refusals.length >= cases.length ? true : undefined), 'every refusal');
	t.deepEqual(fleet!.refusals, cases.map(each => each.reason));
	await fleet!.watch.flush();
	t.is((await seen('web2'))?.lastSeen, undefined, 'web2 was never seen');
});

test.serial('xi-exec serve listens for presence: an agent that connects is seen via relay without being asked', async t => {
	if (missing) {
		return skip(t);
	}

	const serve = spawnCli(controllerCli, ['serve', '--listen', '127.0.0.1:0', '--home', fleet!.controllerHome], {XI_EXEC_TOKEN: ''});
	t.teardown(() => serve.child.kill('SIGTERM'));
	await waitFor(() => (/Listening on https:/.test(serve.output().stdout) ? true : undefined), 'xi-exec serve to listen', {state: () => serve.output()});
	const before = Date.parse((await seen('web1'))!.lastSeen!);
	// The agent says it is there as it connects: restart it.
	await fleet!.running!.stop();
	fleet!.running = await startAgent(fleet!.web1);
	for (const started = Date.now(); !(Date.parse((await seen('web1'))?.lastSeen ?? '') > before) && Date.now() - started < 30_000;) {
		await new Promise(resolve => setTimeout(resolve, 100));
	}

	t.true(Date.parse((await seen('web1'))!.lastSeen!) > before, 'serve marked web1 seen again');
	t.like(await seen('web1'), {lastSeenVia: 'relay'});
	// A forged heartbeat is refused in serve's log, naming the agent it claimed.
	fleet!.spy.publish(relaySubjects.presence('web2'), sealMessage(presenceEnvelope('web2', (await seen('web2'))!.serial, Date.now()), signerFromPem(readFileSync(agentPaths(fleet!.web1.home).key, 'utf8'))));
	await fleet!.spy.flush();
	const line = await waitFor(() => serve.output().stdout.split('\n').find(each => each.includes('"event":"relay.presence-refused"')), 'serve to log the refusal', {state: () => serve.output()});
	t.like(JSON.parse(line) as Record<string, unknown>, {level: 'error', agent: 'web2', reason: 'agent web2\'s presence signature does not verify with its certificate'});
	serve.child.kill('SIGTERM');
	await serve.done;
});

test.serial('agents shows serve\'s presence: a broker first used after serve started is watched, and its agent is seen via relay', async t => {
	if (missing) {
		return skip(t);
	}

	const home = fleet!.controllerHome;
	const serve = spawnCli(controllerCli, ['serve', '--listen', '127.0.0.1:0', '--home', home], {XI_EXEC_TOKEN: ''});
	t.teardown(() => serve.child.kill('SIGTERM'));
	await waitFor(() => (/Listening on https:/.test(serve.output().stdout) ? true : undefined), 'xi-exec serve to listen', {state: () => serve.output()});
	// A new broker, and web2 paired to it (the registry says so) while serve runs.
	const second = await startBroker(home, ['web2']);
	t.teardown(async () => second.stop());
	await openControllerRegistry(controllerPaths(home)).update(registry => ({...registry, agents: registry.agents.map(record => (record.name === 'web2' ? {...record, relay: second.url} : record))}));
	const watching = (url: string) => serve.output().stdout.split('\n').some(line => line.includes('"event":"relay.presence-watching"') && line.includes(JSON.stringify(url)));
	await waitFor(() => (watching(second.url) ? true : undefined), 'serve to watch the new broker', {state: () => serve.output()});
	const paths = agentPaths(fleet!.web2.home);
	writeAgentConfig(paths, {...readAgentConfig(paths), listen: 'none', relay: second.url});
	const web2 = await startAgent(fleet!.web2);
	t.teardown(async () => web2.stop());
	const presenceOf = async (name: string) => {
		const listed = await runCli(controllerCli, ['agents', '--json', '--on', name, '--home', home]);
		return (JSON.parse(listed.stdout) as {agents: Array<{relayPresence: Record<string, unknown> | null}>}).agents[0]!.relayPresence;
	};

	// serve writes what it counted every 5 s.
	let presence = await presenceOf('web2');
	for (const started = Date.now(); presence?.['state'] !== 'seen' && Date.now() - started < 60_000;) {
		await new Promise(resolve => setTimeout(resolve, 250));
		presence = await presenceOf('web2');
	}

	t.like(presence, {state: 'seen', broker: second.url}, JSON.stringify(serve.output()));
	t.true(Date.now() - Date.parse(String(presence!['lastHeartbeat'])) < 120_000);
	const file = `${controllerPaths(home).registry.slice(0, -'.json'.length)}.presence.json`;
	t.is(statSync(file).mode & 0o777, 0o644);
	const table = await runCli(controllerCli, ['agents', '--on', 'web2', '--home', home]);
	t.regex(table.stdout, /^web2 .* nats +reachable +\d+ +\d+ s ago via relay /m, table.stdout);
	t.like(await presenceOf('web1'), {state: 'seen', broker: fleet!.broker.url}, 'the first broker is still watched');

	// Once serve stops, nobody watches: the file says so at once.
	serve.child.kill('SIGTERM');
	await serve.done;
	t.deepEqual((JSON.parse(readFileSync(file, 'utf8')) as {brokers: Record<string, number>}).brokers, {});
});

test.serial('two serves watch one registry: one stopping leaves the other\'s watch in the file; with none, agents says presence is not watched', async t => {
	if (missing) {
		return skip(t);
	}

	const home = fleet!.controllerHome;
	const file = `${controllerPaths(home).registry.slice(0, -'.json'.length)}.presence.json`;
	const watchersNow = () => JSON.parse(readFileSync(file, 'utf8')) as {brokers: Record<string, number>; watchers: Record<string, Record<string, number>>};
	const start = async () => {
		const serve = spawnCli(controllerCli, ['serve', '--listen', '127.0.0.1:0', '--home', home], {XI_EXEC_TOKEN: ''});
		t.teardown(() => serve.child.kill('SIGTERM'));
		const watching = (line: string) => line.includes('"event":"relay.presence-watching"') && line.includes(JSON.stringify(fleet!.broker.url));
		await waitFor(() => (serve.output().stdout.split('\n').some(line => watching(line)) ? true : undefined), 'xi-exec serve to watch the broker', {state: () => serve.output()});
		return serve;
	};

	const [first, second] = [await start(), await start()];
	// Each serve writes its own watch within a flush (5 s): wait for both in the file.
	await waitFor(() => (Object.values(watchersNow().watchers ?? {}).filter(brokers => fleet!.broker.url in brokers).length === 2 ? true : undefined), 'both serves\' watches in the presence file', {state: () => readFileSync(file, 'utf8')});
	first.child.kill('SIGTERM');
	await first.done;
	// Read at once: the stopped serve took back its own watch only.
	const after = watchersNow();
	t.true(fleet!.broker.url in after.brokers, `the broker is still watched: ${JSON.stringify(after)}`);
	t.is(Object.values(after.watchers).filter(brokers => fleet!.broker.url in brokers).length, 1);
	second.child.kill('SIGTERM');
	await second.done;
	t.false(fleet!.broker.url in watchersNow().brokers, 'nobody watches it now');

	// With no serve, an agent that does not answer is shown by its last answer, and the table says why.
	// Its last heartbeat, 10 min ago (a heartbeat within 60 s would still read "seen").
	await fleet!.running!.stop();
	fleet!.running = undefined;
	const state = JSON.parse(readFileSync(file, 'utf8')) as {agents: Record<string, {at: number}>};
	state.agents['web1']!.at = Date.now() - 600_000;
	writeFileSync(file, JSON.stringify(state));
	const listed = await runCli(controllerCli, ['agents', '--on', 'web1', '--home', home]);
	t.regex(listed.stdout, /^web1: relay presence is not watched \(no xi-exec serve is watching its broker\): SEEN is the last answer\./m, listed.stdout);
	const json = await runCli(controllerCli, ['agents', '--json', '--on', 'web1', '--home', home]);
	t.like((JSON.parse(json.stdout) as {agents: Array<Record<string, unknown>>}).agents[0], {status: 'unreachable', relayPresence: {state: 'unwatched'}});
});
