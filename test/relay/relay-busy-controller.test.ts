/**
 * A controller too busy to read its relay agents' replies does not call them unreachable: the
 * relay exchange's connect timeout counts the event loop's own time (dispatch/loop-stalls.ts), as
 * the direct link's does. The test stalls this process's event loop for longer than the connect
 * timeout once the requests are on the broker (as a burst of hundreds of exchanges on a starved
 * CPU does); the real relay agents answer meanwhile, and every exchange still ends with its
 * result. Its neighbour: an agent that is not connected to the broker is still unreachable within
 * the timeout, stall or not. Real nats-server, real agents; skipped without nats-server.
 */
import {randomUUID} from 'node:crypto';
import test from 'ava';
import {agentPaths, readAgentConfig, writeAgentConfig} from '../../agent/home.js';
import {openRelayLink, type RelayLink} from '../../source/dispatch/relay-link.js';
import type {ExchangeEnd} from '../../source/dispatch/exchange-end.js';
import {controllerPaths, loadControllerCredentials, openControllerRegistry} from '../../source/home.js';
import {createController, enrolAgent, freePort, installFixture, startAgent, waitFor, type RunningAgent} from '../helpers/fleet.js';
import {natsServerMissing, startBroker, type Broker} from '../helpers/nats-broker.js';

const missing = natsServerMissing();
const names = ['busy-1', 'busy-2', 'busy-3'];

type Setup = {broker: Broker; running: RunningAgent[]; link: RelayLink; targets: Array<{name: string; serial: string; certificate: string}>};
let setup: Setup | undefined;

test.before(async () => {
	if (missing) {
		return;
	}

	const controllerHome = await createController();
	const scripts = {hello: installFixture('hello.sh')};
	// busy-offline is paired and allowed on the broker, and never started.
	const enrolled = await Promise.all([...names, 'busy-offline'].map(async name => enrolAgent(controllerHome, {name, port: freePort(), scripts})));
	const broker = await startBroker(controllerHome, [...names, 'busy-offline']);
	for (const agent of enrolled) {
		const paths = agentPaths(agent.home);
		writeAgentConfig(paths, {...readAgentConfig(paths), listen: 'none', relay: broker.url});
	}

	const running = await Promise.all(enrolled.slice(0, names.length).map(async agent => startAgent(agent)));
	await Promise.all(running.map(async agent => waitFor(() => agent.lines.find(line => line.includes('"event":"relay.connected"')), 'the agent to connect to the broker')));
	const cpaths = controllerPaths(controllerHome);
	const registry = await openControllerRegistry(cpaths).read();
	const targets = registry.agents.map(record => ({name: record.name, serial: record.serial, certificate: record.certificate!}));
	const link = await openRelayLink({url: broker.url, credentials: loadControllerCredentials(cpaths)});
	setup = {broker, running, link, targets};
});

test.after.always(async () => {
	await setup?.link.close();
	await Promise.all(setup?.running.map(async agent => agent.stop()) ?? []);
	await setup?.broker.stop();
});

/** Keeps this thread busy (no timer, no socket read) for `ms`. */
function stallEventLoop(ms: number): void {
	const until = Date.now() + ms;
	while (Date.now() < until) {
		// Busy, as a burst of many exchanges' messages on a starved CPU.
	}
}

/** A dry run of hello on each agent named, over the relay, with this connect timeout; `stall` once the requests are published. */
async function runOn(agents: string[], connectTimeoutMs: number, stallMs?: number): Promise<ExchangeEnd[]> {
	const ends = Promise.all(agents.map(async name => setup!.link.exchange(setup!.targets.find(target => target.name === name)!, {type: 'run', id: randomUUID(), script: 'hello', args: [], caller: 'ops', dryRun: true}, {connectTimeoutMs, deadlineMs: 30_000})));
	if (stallMs !== undefined) {
		// After the microtask that writes the published requests to the broker: the agents answer during the stall.
		setImmediate(() => {
			stallEventLoop(stallMs);
		});
	}

	return ends;
}

const summary = (end: ExchangeEnd) => (end.kind === 'terminal' && end.frame.type === 'result' ? [end.kind, end.frame.status, end.frame.reason] : [end.kind, 'reason' in end ? end.reason : undefined]);

test.serial('the event loop stalled past the connect timeout once the requests went out: every relay agent still ends with its result', async t => {
	if (missing) {
		t.log(`skipped: ${missing}`);
		t.pass();
		return;
	}

	const ends = await runOn(names, 1000, 2500);
	t.deepEqual(ends.map(end => summary(end)), names.map(() => ['terminal', 'ok', 'dry run: would run']));
});

test.serial('an agent not connected to the broker is unreachable within the connect timeout, stall or not', async t => {
	if (missing) {
		t.log(`skipped: ${missing}`);
		t.pass();
		return;
	}

	const reason = 'no signed answer from agent busy-offline over the relay within 0.5 s (is it connected to the broker?)';
	t.deepEqual((await runOn(['busy-offline'], 500)).map(end => summary(end)), [['unreachable', reason]]);
	t.deepEqual((await runOn(['busy-offline'], 500, 1500)).map(end => summary(end)), [['unreachable', reason]]);
});
