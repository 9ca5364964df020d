/**
 * The one-shot's early dial (cli/early-socket.ts, cli/early-dial.ts): `xi-exec run SCRIPT --on
 * NAME` opens its TCP connection first, starts TLS on it while the program loads, and the run goes
 * over it: one connection in all, counted by a TCP proxy in front of the agent, from the installed
 * CommonJS entry and from the ES module entry alike. What is not a one-shot run makes no connection
 * (--help); a run refused before anything ran closes the connection and exits at once; a connection
 * whose agent presents another identity, or a serial the registry refuses, is refused at its
 * handshake, and one nobody listens for is refused at once; the run reports each refusal as it
 * does without the early dial. Over the built CLI and real agents.
 */
import type {AddressInfo} from 'node:net';
import test from 'ava';
import {createDelayProxy, listenProxy, type DelayProxy} from '../../bench/delay-proxy.js';
import {controllerPaths, openControllerRegistry} from '../../source/home.js';
import {controllerCli, controllerModuleCli, createController, enrolAgent, freePort, installFixture, logEvents, runCli, startAgent, type RunningAgent} from '../helpers/fleet.js';
import {closedConnections} from '../helpers/proxy-round-trips.js';

type Fleet = {home: string; web1: RunningAgent; web2: RunningAgent; proxy: DelayProxy; env: NodeJS.ProcessEnv; web2Port: number};

/** web1 behind a counting proxy (the registry points at it), web2 beside it. */
async function twoAgents(t: {teardown: (fn: () => Promise<void>) => void}): Promise<Fleet> {
	const home = await createController();
	const agent1 = await enrolAgent(home, {name: 'web1', port: freePort(), scripts: {hello: installFixture('hello.sh')}});
	const agent2 = await enrolAgent(home, {name: 'web2', port: freePort(), scripts: {hello: installFixture('hello.sh')}});
	const [web1, web2] = [await startAgent(agent1), await startAgent(agent2)];
	const proxy = createDelayProxy({listen: 0, target: agent1.port}, 0);
	await listenProxy(proxy, 0);
	t.teardown(async () => {
		await proxy.close();
		await web1.stop();
		await web2.stop();
	});
	await pointAt(home, 'web1', (proxy.server.address() as AddressInfo).port);
	return {home, web1, web2, proxy, env: {XI_EXEC_HOME: home}, web2Port: agent2.port};
}

async function pointAt(home: string, name: string, port: number): Promise<void> {
	await openControllerRegistry(controllerPaths(home)).update(registry => ({...registry, agents: registry.agents.map(record => (record.name === name ? {...record, address: `127.0.0.1:${port}`} : record))}));
}

test('a one-shot dials while it loads and runs over that connection: one connection, the first with its describe', async t => {
	const fleet = await twoAgents(t);
	fleet.proxy.take();
	const first = await runCli(controllerCli, ['run', 'hello', '--on', 'web1'], fleet.env);
	t.is(first.code, 0, first.stderr);
	t.is((await closedConnections(fleet.proxy, 1)).length, 1, 'one connection for the describe and the run');
	const second = await runCli(controllerCli, ['--home', fleet.home, 'run', 'hello', '--on=web1', '--json'], {});
	t.is(second.code, 0, second.stderr);
	t.is((await closedConnections(fleet.proxy, 1)).length, 1, 'one connection for the run (planned from the cached description)');
	t.is(logEvents(fleet.web1, 'run.start').length, 2);
});

test('from the ES module entry too, a one-shot makes one connection', async t => {
	const fleet = await twoAgents(t);
	t.is((await runCli(controllerCli, ['run', 'hello', '--on', 'web1'], fleet.env)).code, 0, 'the first describes and caches');
	await closedConnections(fleet.proxy, 1);
	const run = await runCli(controllerModuleCli, ['run', 'hello', '--on', 'web1'], fleet.env);
	t.is(run.code, 0, run.stderr);
	t.is((await closedConnections(fleet.proxy, 1)).length, 1);
	t.is(logEvents(fleet.web1, 'run.start').length, 2);
});

test('an early connection nobody listens for is refused at once, and the run says so as without the early dial', async t => {
	const fleet = await twoAgents(t);
	const closed = freePort();
	await pointAt(fleet.home, 'web1', closed);
	const run = await runCli(controllerCli, ['run', 'hello', '--on', 'web1'], fleet.env);
	t.is(run.code, 1, run.stderr);
	// Not "no TLS connection ... within 5 s": a TLS socket made on a TCP socket that had already failed waits for ever.
	t.regex(run.stdout, /web1 = unreachable: .*connection refused/);
});

test('--help makes no connection; a run refused before anything ran closes its early connection and exits', async t => {
	const fleet = await twoAgents(t);
	fleet.proxy.take();
	const help = await runCli(controllerCli, ['run', 'hello', '--on', 'web1', '--help'], fleet.env);
	t.is(help.code, 0);
	const refused = await runCli(controllerCli, ['run', 'Hello!', '--on', 'web1'], fleet.env);
	t.is(refused.code, 2, refused.stderr);
	t.regex(refused.stderr, /NAME_INVALID/);
	const tooMany = await runCli(controllerCli, ['run', 'hello', '--on', 'web1', '--', ...Array.from({length: 65}, () => 'a')], fleet.env);
	t.is(tooMany.code, 2, tooMany.stderr);
	t.is((await closedConnections(fleet.proxy, 2)).length, 2, 'two connections opened and closed with nothing sent, none for --help');
	t.is(logEvents(fleet.web1, 'request.received').length, 0);
});

test('an early connection to an agent presenting another identity is refused at its handshake, as the run\'s own is', async t => {
	const fleet = await twoAgents(t);
	await pointAt(fleet.home, 'web1', fleet.web2Port);
	const run = await runCli(controllerCli, ['run', 'hello', '--on', 'web1'], fleet.env);
	t.is(run.code, 1);
	t.regex(run.stdout, /web1 = unreachable: .*presented xi-exec:agent\/web2, expected xi-exec:agent\/web1/);
	t.is(logEvents(fleet.web2, 'request.received').length, 0);
});

test('an early connection to an agent whose serial the registry refuses is refused at its handshake', async t => {
	const fleet = await twoAgents(t);
	await openControllerRegistry(controllerPaths(fleet.home)).update(registry => ({...registry, revoked: [...(registry.revoked ?? []), {serial: registry.agents.find(agent => agent.name === 'web1')!.serial, agent: 'web1', reason: 'replaced' as const, at: new Date().toISOString()}]}));
	const run = await runCli(controllerCli, ['run', 'hello', '--on', 'web1'], fleet.env);
	t.is(run.code, 1);
	t.regex(run.stdout, /web1 = unreachable: .*which is revoked/);
	t.is(logEvents(fleet.web1, 'request.received').length, 0);
});
