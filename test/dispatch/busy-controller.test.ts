/**
 * A controller too busy to read its agents' answers does not call them unreachable: the connect
 * timeout counts the event loop's own time (dispatch/loop-stalls.ts). The test stalls this
 * process's event loop for longer than the connect timeout right after the dial (as a poll
 * phase of hundreds of handshakes did on a loaded 2-core machine); the real agents still end ok.
 * Its neighbours: an address where nothing answers the handshake is still unreachable within the
 * timeout, and so is a refused connection.
 */
import {randomUUID} from 'node:crypto';
import {createServer, type AddressInfo, type Server, type Socket} from 'node:net';
import test from 'ava';
import {createClientContext} from '../../source/dispatch/agent-connection.js';
import {dispatch} from '../../source/dispatch/dispatcher.js';
import {collectResults} from '../../source/run/collect-results.js';
import {controllerCredentials, createController, enrolAgent, freePort, startAgent, type RunningAgent} from '../helpers/fleet.js';

type Setup = {controller: string; agents: Array<{name: string; address: string}>; running: RunningAgent[]};
let setup: Setup | undefined;

test.before(async () => {
	const controller = await createController();
	const enrolled = await Promise.all(['busy-1', 'busy-2', 'busy-3'].map(async name => enrolAgent(controller, {name, port: freePort(), scripts: {echo: '/bin/echo'}})));
	const running = await Promise.all(enrolled.map(async agent => startAgent(agent)));
	setup = {controller, agents: enrolled.map(agent => ({name: agent.name, address: `127.0.0.1:${agent.port}`})), running};
});

test.after.always(async () => {
	await Promise.all(setup?.running.map(async agent => agent.stop()) ?? []);
});

/** Keeps this thread busy (no timer, no socket read) for `ms`. */
function stallEventLoop(ms: number): void {
	const until = Date.now() + ms;
	while (Date.now() < until) {
		// Busy, as a poll phase of many handshakes on a starved CPU.
	}
}

async function runOn(targets: ReadonlyArray<{name: string; address: string}>, connectTimeoutMs: number, onDialled?: () => void) {
	const context = createClientContext(controllerCredentials(setup!.controller));
	const collected = collectResults();
	let dialled = 0;
	await dispatch(targets, {requestId: randomUUID(), script: 'echo', args: ['hi'], caller: 'ops', timeoutMs: 30_000, dryRun: true}, {
		context,
		parallel: targets.length,
		connectTimeoutMs,
		emit(event) {
			collected.emit(event);
			// The exchange dials synchronously after this event; the stall starts once every host is dialled.
			if (event.type === 'agent-connecting' && ++dialled === targets.length && onDialled) {
				setImmediate(onDialled);
			}
		},
	});
	await context.close();
	return collected.results();
}

test('the event loop stalled past the connect timeout right after dialling: every agent still ends ok', async t => {
	const results = await runOn(setup!.agents, 1000, () => {
		stallEventLoop(2500);
	});
	t.deepEqual(results.map(result => [result.agent, result.status, result.reason]), setup!.agents.map(agent => [agent.name, 'ok', 'dry run: would run']));
});

test('an address that accepts TCP and never answers the handshake is unreachable within the connect timeout', async t => {
	const held: Socket[] = [];
	const silent: Server = createServer(socket => held.push(socket));
	await new Promise<void>(resolve => {
		silent.listen(0, '127.0.0.1', resolve);
	});
	t.teardown(() => {
		for (const socket of held) {
			socket.destroy();
		}

		silent.close();
	});
	const address = `127.0.0.1:${(silent.address() as AddressInfo).port}`;
	const results = await runOn([{name: 'busy-1', address}], 500);
	t.deepEqual(results.map(result => [result.status, result.reason]), [['unreachable', `no TLS connection to ${address} within 0.5 s`]]);
});

test('a refused connection is unreachable at once, stall or not', async t => {
	const address = `127.0.0.1:${freePort()}`;
	const results = await runOn([{name: 'busy-2', address}], 1000, () => {
		stallEventLoop(1500);
	});
	t.is(results[0]?.status, 'unreachable');
	t.regex(results[0]?.reason ?? '', /connection refused by 127\.0\.0\.1:\d+/);
});
