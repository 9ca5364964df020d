/**
 * Runs planned from cached descriptions over the relay (core/cached-plan.ts, plan-refresh.ts), end
 * to end: a real nats-server on 127.0.0.1 with the fleet CA, an agent reached only through it
 * (nat1, `"listen": "none"`), one of transport both (dual1) and one on direct TLS (web1) behind a
 * counting TCP proxy, and the built `xi-exec` CLI. A spy user on the broker (as any broker
 * operator can be) overhears every request, so the describes are counted where they travel.
 *
 * The relay agent says `checksEntry` in its description because its run path refuses a run planned
 * with another entry than its own, exactly as over direct TLS: a row sends such a run through the
 * relay link itself and asserts the refusal, its `entryChanged` flag and the agent's audit record.
 */
import {readFileSync, writeFileSync} from 'node:fs';
import type {AddressInfo} from 'node:net';
import test from 'ava';
import {connect, type NatsConnection} from '@nats-io/transport-node';
import {agentPaths, readAgentConfig, writeAgentConfig} from '../../agent/home.js';
import {createDelayProxy, listenProxy, type DelayProxy} from '../../bench/delay-proxy.js';
import {descriptionFilePath} from '../../source/core/description-file.js';
import {openRelayLink} from '../../source/dispatch/relay-link.js';
import {controllerPaths, loadControllerCredentials, openControllerRegistry} from '../../source/home.js';
import {relaySubjects} from '../../source/protocol/relay-subjects.js';
import {brokerTls} from '../../source/relay/broker-tls.js';
import {controllerCli, createController, enrolAgent, freePort, installFixture, runCli, startAgent, waitFor, type RunningAgent, type TestAgent} from '../helpers/fleet.js';
import {natsServerMissing, startBroker, type Broker} from '../helpers/nats-broker.js';
import {closedConnections} from '../helpers/proxy-round-trips.js';

const missing = natsServerMissing();
if (missing) {
	console.log(`cached-plan relay tests skipped: ${missing}`);
}

const spyUser = '\t\t{user: "xi-exec:audit", permissions: {publish: {allow: [">"]}, subscribe: {allow: [">"]}}}\n';

type Fleet = {home: string; broker: Broker; agents: Record<string, TestAgent>; running: Record<string, RunningAgent>; spy: NatsConnection; proxy: DelayProxy};
let fleet: Fleet | undefined;

test.before(async () => {
	if (missing) {
		return;
	}

	const home = await createController();
	const scripts = {hello: installFixture('hello.sh')};
	const agents: Record<string, TestAgent> = {};
	for (const name of ['nat1', 'dual1', 'web1']) {
		agents[name] = await enrolAgent(home, {name, port: freePort(), scripts});
	}

	const broker = await startBroker(home, ['nat1', 'dual1'], spyUser);
	for (const [name, listen] of [['nat1', 'none'], ['dual1', undefined]] as const) {
		const paths = agentPaths(agents[name]!.home);
		writeAgentConfig(paths, {...readAgentConfig(paths), ...(listen ? {listen} : {}), relay: broker.url});
	}

	const running: Record<string, RunningAgent> = {};
	for (const name of Object.keys(agents)) {
		running[name] = await startAgent(agents[name]!);
	}

	for (const name of ['nat1', 'dual1']) {
		await waitFor(() => running[name]!.lines.find(line => line.includes('"event":"relay.connected"')), `${name} to connect to the broker`);
	}

	const proxy = createDelayProxy({listen: 0, target: agents['web1']!.port}, 0);
	await listenProxy(proxy, 0);
	const transports: Record<string, 'nats' | 'both'> = {nat1: 'nats', dual1: 'both'};
	const web1 = `127.0.0.1:${(proxy.server.address() as AddressInfo).port}`;
	await openControllerRegistry(controllerPaths(home)).update(registry => ({
		...registry,
		agents: registry.agents.map(record => (transports[record.name] ? {...record, transport: transports[record.name], relay: broker.url} : {...record, address: web1})),
	}));
	const paths = controllerPaths(home);
	const spy = await connect({servers: broker.url, tls: brokerTls({cert: readFileSync(paths.auditCert, 'utf8'), key: readFileSync(paths.auditKey, 'utf8'), ca: readFileSync(paths.caCert, 'utf8')})});
	fleet = {home, broker, agents, running, spy, proxy};
});

test.after.always(async () => {
	await fleet?.spy.close();
	await fleet?.proxy.close();
	await Promise.all(Object.values(fleet?.running ?? {}).map(async running => running.stop()));
	await fleet?.broker.stop();
});

const skip = (t: {log: (text: string) => void; pass: () => void}) => {
	t.log(`skipped: ${missing}`);
	t.pass();
};

type Heard = {agent: string; type: string; entryDigest?: string};

/** The request envelopes the broker carried to the agents while `action` ran: whose, of which type, with which planned digest. */
async function overheard<T>(action: () => Promise<T>): Promise<{result: T; requests: Heard[]}> {
	const requests: Heard[] = [];
	const subscription = fleet!.spy.subscribe(relaySubjects.anyRequests, {callback(error, message) {
		if (!error) {
			const {env} = JSON.parse(Buffer.from(message.data).toString('utf8')) as {env: {agent?: string; body?: {type?: string; entryDigest?: string}}};
			requests.push({agent: env.agent ?? message.subject, type: env.body?.type ?? '?', ...(env.body?.entryDigest ? {entryDigest: env.body.entryDigest} : {})});
		}
	}});
	await fleet!.spy.flush();
	const result = await action();
	await fleet!.spy.flush();
	subscription.unsubscribe();
	return {result, requests};
}

const everyHost = ['run', 'hello', '--on', 'nat1', '--on', 'dual1', '--on', 'web1'];
const records = (path: string) => readFileSync(path, 'utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>);
type Cache = {agents: Record<string, Record<string, unknown> & {scripts: Array<Record<string, unknown>>}>};
const readCache = () => JSON.parse(readFileSync(descriptionFilePath(fleet!.home), 'utf8')) as Cache;
const describes = (requests: Heard[]) => requests.filter(request => request.type === 'describe').map(request => request.agent).sort();

test.serial('relay and direct in one run: the first describes each host, the next plans all three from the cache (no describe on the broker, 3 round trips direct)', async t => {
	if (missing) {
		return skip(t);
	}

	fleet!.proxy.take();
	const first = await overheard(async () => runCli(controllerCli, [...everyHost, '--home', fleet!.home]));
	t.is(first.result.code, 0, first.result.stdout + first.result.stderr);
	t.deepEqual(describes(first.requests), ['nat1'], 'nat1 described over the relay (dual1 answers directly)');
	t.deepEqual(await closedConnections(fleet!.proxy, 1), [4]);
	t.like(readCache().agents['nat1'], {transport: 'nats', relay: fleet!.broker.url});
	t.like(readCache().agents['dual1'], {transport: 'both', relay: fleet!.broker.url});

	const second = await overheard(async () => runCli(controllerCli, [...everyHost, '--home', fleet!.home]));
	t.is(second.result.code, 0, second.result.stdout + second.result.stderr);
	t.deepEqual(describes(second.requests), [], 'no describe crossed the broker');
	const run = second.requests.find(request => request.type === 'run');
	t.regex(run?.entryDigest ?? '', /^[\da-f]{64}$/, 'the run to nat1 carries the digest of the cached entry it was planned with');
	t.deepEqual(await closedConnections(fleet!.proxy, 1), [3]);
	t.regex(second.result.stdout, /^nat1 += ok/m);
	t.notRegex(second.result.stderr, /refreshed/);
});

test.serial('the relay agent says checksEntry, and refuses a run planned with another entry: exact refusal, entryChanged, and its audit record', async t => {
	if (missing) {
		return skip(t);
	}

	const paths = controllerPaths(fleet!.home);
	const link = await openRelayLink({url: fleet!.broker.url, credentials: loadControllerCredentials(paths)});
	t.teardown(async () => link.close());
	const record = (await openControllerRegistry(paths).read()).agents.find(agent => agent.name === 'nat1')!;
	const target = {name: 'nat1', serial: record.serial, certificate: record.certificate!};
	const described = await link.exchange(target, {type: 'describe', id: 'cached-describe-0001'}, {connectTimeoutMs: 10_000, deadlineMs: 30_000});
	t.true(described.kind === 'terminal' && described.frame.type === 'description' && described.frame.checksEntry === true, 'checksEntry over the relay');

	const planned = 'f'.repeat(64);
	const end = await link.exchange(target, {type: 'run', id: 'cached-stale-0001', script: 'hello', args: [], caller: 'alice', timeoutMs: 20_000, entryDigest: planned}, {connectTimeoutMs: 10_000, deadlineMs: 30_000});
	const frame = end.kind === 'terminal' && end.frame.type === 'result' ? end.frame : undefined;
	t.like(frame, {status: 'denied', entryChanged: true, exitCode: null});
	t.regex(frame?.reason ?? '', /^script hello is refused: the controller planned this run with another allowlist entry for hello on nat1 \(planned ffffffffffff…, now [\da-f]{12}…\): its description of this agent is out of date; nothing ran$/);
	const agentLog = records(agentPaths(fleet!.agents['nat1']!.home).auditLog).filter(entry => entry['requestId'] === 'cached-stale-0001');
	t.deepEqual(agentLog.map(entry => entry['event']), ['request.received', 'run.refused']);
	t.like(agentLog[1], {status: 'denied', reason: frame?.reason});
	t.like(agentLog[0], {source: 'relay', script: 'hello'});
	t.false(agentLog.some(entry => entry['event'] === 'run.start'), 'nothing ran');
});

test.serial('stale plan never executes over the relay: nat1\'s cached entry out of date is refused, described over the broker, planned again and run once, one request id', async t => {
	if (missing) {
		return skip(t);
	}

	const cache = readCache();
	cache.agents['nat1']!.scripts = cache.agents['nat1']!.scripts.map(entry => ({...entry, description: 'not what nat1 says'}));
	writeFileSync(descriptionFilePath(fleet!.home), JSON.stringify(cache));
	const starts = () => records(agentPaths(fleet!.agents['nat1']!.home).auditLog).filter(entry => entry['event'] === 'run.start').length;
	const before = starts();
	const heard = await overheard(async () => runCli(controllerCli, [...everyHost, '--home', fleet!.home]));
	t.is(heard.result.code, 0, heard.result.stdout + heard.result.stderr);
	t.regex(heard.result.stderr, /^xi-exec: note: the plan was refreshed for nat1: its allowlist entry changed since cached, so it was described and planned again before running\.$/m);
	t.deepEqual(heard.requests.filter(request => request.agent === 'nat1').map(request => request.type), ['run', 'describe', 'run'], 'the refused run, the describe, the run planned again');
	const [refusedRun, , rerun] = heard.requests.filter(request => request.agent === 'nat1');
	t.not(refusedRun!.entryDigest, rerun!.entryDigest);
	t.is(starts(), before + 1, 'the script ran once');
	t.is(readCache().agents['nat1']!.scripts[0]!['description'], 'test script hello', 'the cache holds what nat1 says now');

	const controller = records(controllerPaths(fleet!.home).auditLog);
	const request = controller.findLast(entry => entry['event'] === 'run.request')!;
	const requestId = request['requestId'];
	const replanned = controller.filter(entry => entry['requestId'] === requestId && entry['event'] === 'run.replanned');
	t.is(replanned.length, 1);
	t.like(replanned[0], {agent: 'nat1', planned: refusedRun!.entryDigest, described: rerun!.entryDigest});
	const agentLog = records(agentPaths(fleet!.agents['nat1']!.home).auditLog).filter(entry => entry['requestId'] === requestId);
	t.deepEqual(agentLog.map(entry => entry['event']).filter(event => event === 'run.refused' || event === 'run.start' || event === 'run.finish'), ['run.refused', 'run.start', 'run.finish']);
	t.regex(String(agentLog.find(entry => entry['event'] === 'run.refused')?.['reason']), /^script hello is refused: the controller planned this run with another allowlist entry for hello on nat1 \(planned [\da-f]{12}…, now [\da-f]{12}…\): its description of this agent is out of date; nothing ran$/);
	t.deepEqual(controller.filter(entry => entry['requestId'] === requestId && entry['event'] === 'run.outcome').map(entry => [entry['agent'], entry['status']]).sort(), [['dual1', 'ok'], ['nat1', 'ok'], ['web1', 'ok']]);
});
