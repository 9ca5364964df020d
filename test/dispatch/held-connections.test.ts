/**
 * One connection for a run's describe and the run itself, over a real agent: counted by a TCP
 * proxy in front of it (the bench's, with no delay). The run's outcome is the same as over a
 * connection of its own; the agent keeps a described connection open only when asked, and for one
 * run only; what the hold did not hand out is closed.
 */
import {randomUUID} from 'node:crypto';
import type {AddressInfo} from 'node:net';
import test from 'ava';
import {createDelayProxy, listenProxy, type DelayProxy} from '../../bench/delay-proxy.js';
import {createClientContext} from '../../source/dispatch/agent-connection.js';
import {discoverAgent} from '../../source/dispatch/discover.js';
import {dispatch} from '../../source/dispatch/dispatcher.js';
import {collectResults} from '../../source/run/collect-results.js';
import {createConnectionHold} from '../../source/dispatch/held-connections.js';
import {controllerCredentials, createController, enrolAgent, freePort, rawExchange, requestLine, startAgent, type RunningAgent, type TestAgent} from '../helpers/fleet.js';

type Setup = {controller: string; agent: TestAgent; running: RunningAgent; proxy: DelayProxy; target: {name: string; address: string}};
let setup: Setup | undefined;

test.before(async () => {
	const controller = await createController();
	const agent = await enrolAgent(controller, {name: 'held', port: freePort(), scripts: {echo: '/bin/echo'}});
	const running = await startAgent(agent);
	const proxy = createDelayProxy({listen: 0, target: agent.port}, 0);
	await listenProxy(proxy, 0);
	setup = {controller, agent, running, proxy, target: {name: 'held', address: `127.0.0.1:${(proxy.server.address() as AddressInfo).port}`}};
});

test.after.always(async () => {
	await setup?.proxy.close();
	await setup?.running.stop();
});

/** The connections the proxy saw close since the last call (each one's round trips). */
async function connections(proxy: DelayProxy, expected: number): Promise<number[]> {
	const seen: number[] = [];
	while (seen.length < expected) {
		seen.push(...proxy.take());
		await new Promise(resolve => setImmediate(resolve));
	}

	seen.push(...proxy.take());
	return seen;
}

async function describeThenRun(hold: ReturnType<typeof createConnectionHold> | undefined) {
	const {target, controller} = setup!;
	const context = createClientContext(controllerCredentials(controller));
	const found = await discoverAgent(target, context, 10_000, undefined, hold);
	const collected = collectResults();
	await dispatch([target], {requestId: randomUUID(), script: 'echo', args: ['same'], caller: 'ops', timeoutMs: 30_000, dryRun: false}, {context, parallel: 1, emit: collected.emit, ...(hold ? {hold} : {})});
	const [result] = collected.results();
	hold?.close();
	return {found, result};
}

test.serial('with a hold, the describe and the run share one connection and the run ends as without', async t => {
	const {proxy} = setup!;
	proxy.take();
	const held = await describeThenRun(createConnectionHold(1));
	t.deepEqual(await connections(proxy, 1), [4], 'one connection: TCP, TLS, describe, run');

	const apart = await describeThenRun(undefined);
	t.deepEqual(await connections(proxy, 2), [3, 3], 'two connections of three round trips each');

	t.is(held.found.status, 'reachable');
	t.deepEqual(held.found.scripts, apart.found.scripts);
	t.like(held.result, {agent: 'held', status: 'ok', exitCode: 0, stdout: 'same\n', stderr: '', truncated: false});
	t.like(apart.result, {agent: 'held', status: 'ok', exitCode: 0, stdout: 'same\n', stderr: '', truncated: false});
});

test.serial('a hold that is full, or closed, leaves nothing open', async t => {
	const {proxy, target, controller} = setup!;
	proxy.take();
	const context = createClientContext(controllerCredentials(controller));
	const full = createConnectionHold(0);
	t.is((await discoverAgent(target, context, 10_000, undefined, full)).status, 'reachable');
	t.deepEqual(await connections(proxy, 1), [3], 'not held: closed after the description');

	const unused = createConnectionHold(1);
	t.is((await discoverAgent(target, context, 10_000, undefined, unused)).status, 'reachable');
	unused.close();
	t.deepEqual(await connections(proxy, 1), [3], 'held, never taken, closed by close()');
	t.is(unused.take('held'), undefined);
});

const afterKeptDescription: Array<{name: string; next: Record<string, unknown>; code: string; message: string}> = [
	{name: 'a second describe', next: {type: 'describe'}, code: 'malformed', message: 'after a description, a connection carries one run and nothing else'},
	{name: 'a cancel', next: {type: 'cancel', caller: 'ops'}, code: 'malformed', message: 'after a description, a connection carries one run and nothing else'},
	{name: 'a renewal', next: {type: 'renew', caller: 'ops'}, code: 'malformed', message: 'after a description, a connection carries one run and nothing else'},
];

for (const c of afterKeptDescription) {
	test.serial(`after a description kept open, ${c.name} is refused`, async t => {
		const {agent, controller} = setup!;
		const id = randomUUID();
		const reply = await rawExchange(agent.port, {...controllerCredentials(controller), send: [requestLine({type: 'describe', keepOpen: true}), requestLine({...c.next, id})]});
		t.like(reply.frames[0], {type: 'description', openForRun: true});
		t.deepEqual(reply.frames.slice(1), [{v: 1, type: 'error', id, code: c.code, message: c.message}]);
	});
}

test.serial('a describe without keepOpen is answered and closed, as before', async t => {
	const {agent, controller} = setup!;
	const reply = await rawExchange(agent.port, {...controllerCredentials(controller), send: [requestLine({type: 'describe'})]});
	t.is(reply.frames.length, 1);
	t.like(reply.frames[0], {type: 'description'});
	t.false('openForRun' in reply.frames[0]!);
	t.false(reply.gaveUp);
});
