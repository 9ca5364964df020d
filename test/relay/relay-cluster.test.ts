/**
 * A three-node nats-server cluster from `xi-exec relay config --route` (Debian's nats-server, on
 * 127.0.0.1): each node's file is what the command writes (here with its own ports, since the three
 * share a host; in production one file serves all three). The nodes must form a full mesh over
 * mutual TLS with the broker's certificate, and carry the relay across it: an agent connected to
 * the first node answers a controller connected to the third. Skipped, with the reason printed,
 * when nats-server is not installed.
 */
import {spawn, type ChildProcess} from 'node:child_process';
import {join} from 'node:path';
import {setTimeout as delay} from 'node:timers/promises';
import test from 'ava';
import {agentPaths, readAgentConfig, writeAgentConfig} from '../../agent/home.js';
import {openRelayLink} from '../../source/dispatch/relay-link.js';
import {controllerPaths, loadControllerCredentials, openControllerRegistry} from '../../source/home.js';
import {controllerCli, createController, enrolAgent, freePort, installFixture, runCli, startAgent, temporaryDirectory, waitFor, type RunningAgent} from '../helpers/fleet.js';
import {natsServerMissing} from '../helpers/nats-broker.js';

const missing = natsServerMissing();
if (missing) {
	console.log(`relay cluster test skipped: ${missing}`);
}

type Node = {url: string; process: ChildProcess; log: () => string};
const nodes: Node[] = [];
let agent: RunningAgent | undefined;

test.after.always(async () => {
	await agent?.stop();
	await Promise.all(nodes.map(async node => {
		if (node.process.exitCode === null) {
			const exited = new Promise(resolve => node.process.once('exit', resolve));
			node.process.kill('SIGTERM');
			await exited;
		}
	}));
});

function startNode(config: string): Node {
	const child = spawn('nats-server', ['-c', config], {stdio: ['ignore', 'pipe', 'pipe']});
	let log = '';
	child.stdout.on('data', (chunk: Buffer) => {
		log += chunk.toString();
	});
	child.stderr.on('data', (chunk: Buffer) => {
		log += chunk.toString();
	});
	return {url: '', process: child, log: () => log};
}

/** Routes open now: made, less those closed (each node's route to itself, and the second of two routes between a pair, close as duplicates). */
const routesOf = (node: Node) => {
	const lines = node.log().split('\n');
	return lines.filter(line => line.includes('Route connection created')).length - lines.filter(line => line.includes('Router connection closed')).length;
};

test('three nodes from relay config --route form one cluster and carry a run between nodes', async t => {
	if (missing) {
		t.log(`skipped: ${missing}`);
		return t.pass();
	}

	const home = await createController();
	const nat1 = await enrolAgent(home, {name: 'nat1', port: freePort(), scripts: {hello: installFixture('hello.sh')}});
	await openControllerRegistry(controllerPaths(home)).update(registry => ({
		...registry,
		agents: registry.agents.map(record => ({...record, transport: 'nats' as const, relay: 'nats://127.0.0.1:1'})),
	}));
	const clientPorts = [freePort(), freePort(), freePort()];
	const routePorts = [freePort(), freePort(), freePort()];
	const routes = routePorts.flatMap(port => ['--route', `nats://127.0.0.1:${port}`]);
	const root = temporaryDirectory('xi-exec-cluster-');
	for (const [index, port] of clientPorts.entries()) {
		const dir = join(root, `b${index + 1}`);
		const cert = await runCli(controllerCli, ['relay', 'cert', '--dir', dir, '--host', 'localhost', '--host', '127.0.0.1', '--home', home]);
		t.is(cert.code, 0, cert.stderr);
		const config = await runCli(controllerCli, ['relay', 'config', '--dir', dir, '--listen', `127.0.0.1:${port}`, '--cluster-listen', `127.0.0.1:${routePorts[index]!}`, ...routes, '--home', home]);
		t.is(config.code, 0, config.stderr);
		nodes.push({...startNode(join(dir, 'nats-server.conf')), url: `nats://127.0.0.1:${port}`});
	}

	// A full mesh: each node has a route to each other node (it ignores the one to itself).
	await waitFor(() => (nodes.every(node => routesOf(node) === 2) ? true : undefined), 'the three nodes to route to each other', {state: () => nodes.map(node => node.log()).join('\n---\n')});
	// Refused dials while the other nodes start are expected; a TLS or authorization failure is not.
	t.false(nodes.some(node => /handshake error|authorization violation|authentication error|\[FTL\]/i.test(node.log())), nodes.map(node => node.log()).join('\n---\n'));

	const paths = agentPaths(nat1.home);
	writeAgentConfig(paths, {...readAgentConfig(paths), listen: 'none', relay: nodes[0]!.url});
	agent = await startAgent(nat1);
	await waitFor(() => agent!.lines.find(line => line.includes('"event":"relay.connected"')), 'nat1 to connect to the first node');
	const record = (await openControllerRegistry(controllerPaths(home)).read()).agents[0]!;
	const link = await openRelayLink({url: nodes[2]!.url, credentials: loadControllerCredentials(controllerPaths(home))});
	try {
		// The agent's subscription reaches the third node through the routes a moment after it is made.
		let end;
		for (let attempt = 0; attempt < 50; attempt++) {
			end = await link.exchange({name: 'nat1', serial: record.serial, certificate: record.certificate!}, {type: 'run', id: `cluster-run-${String(attempt).padStart(4, '0')}`, script: 'hello', args: [], caller: 'alice', timeoutMs: 10_000}, {connectTimeoutMs: 1000, deadlineMs: 20_000});
			if (end.kind !== 'unreachable') {
				break;
			}

			await delay(100);
		}

		t.like(end, {kind: 'terminal', frame: {type: 'result', status: 'ok', exitCode: 0}});
	} finally {
		await link.close();
	}
});
