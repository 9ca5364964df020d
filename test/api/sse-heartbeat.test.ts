/**
 * Event streams through a proxy that cuts connections idle for a second (as a load balancer cuts
 * them after its idle timeout, scaled down): with heartbeats every 200 ms (`{"api":
 * {"sseHeartbeatMs": 200}}`) a stream that carries no event for three seconds (a silent script)
 * stays open to run-finished; with heartbeats far apart the proxy cuts it (the control that shows
 * the test can fail).
 */
import {createServer, connect, type Socket} from 'node:net';
import test from 'ava';
import {createApiServer} from '../../source/api/server.js';
import {call, createToken, followEvents, loadControllerCredentials, loadServerCredentials, startApiFleet, type ApiFleet} from './api-fleet.js';

const idleCutMs = 1000;
let fleet: ApiFleet;
let admin: string;

test.before(async () => {
	fleet = await startApiFleet([{name: 'web1', scripts: {quiet: {body: '#!/bin/sh\nsleep 3\necho done\n', description: 'Silent for three seconds'}}}], {heartbeatMs: 200});
	admin = (await createToken(fleet.paths, 'admin', ['*'], ['all'])).token;
});

test.after.always(async () => {
	await fleet?.close();
});

/** A TCP proxy to `port` that destroys a connection once nothing has passed either way for `idleCutMs`. */
async function idleCuttingProxy(port: number): Promise<{port: number; cuts: () => number; cut: Promise<void>; close: () => void}> {
	let cuts = 0;
	let cutNow: () => void = () => undefined;
	const cut = new Promise<void>(resolve => {
		cutNow = resolve;
	});
	const sockets = new Set<Socket>();
	const server = createServer(client => {
		const upstream = connect(port, '127.0.0.1');
		sockets.add(client).add(upstream);
		let timer: NodeJS.Timeout;
		const touch = () => {
			clearTimeout(timer);
			timer = setTimeout(() => {
				cuts++;
				cutNow();
				client.destroy();
				upstream.destroy();
			}, idleCutMs);
		};

		touch();
		for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
			from.on('data', chunk => {
				touch();
				to.write(chunk);
			});
			from.on('close', () => {
				clearTimeout(timer);
				to.destroy();
			});
			from.on('error', () => undefined);
		}
	});
	await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
	return {
		port: (server.address() as {port: number}).port,
		cuts: () => cuts,
		cut,
		close() {
			for (const socket of sockets) {
				socket.destroy();
			}

			server.close();
		},
	};
}

async function streamThroughProxy(serverPort: number) {
	const proxy = await idleCuttingProxy(serverPort);
	try {
		const accepted = await call({port: serverPort, ca: fleet.ca}, 'POST', '/v1/runs', {token: admin, body: {script: 'quiet', args: [], on: ['web1'], wait: false}});
		const {requestId} = accepted.json();
		const events: Array<string | undefined> = [];
		// A cut stream may end neither its response nor its request: the cut itself ends the wait.
		const stream = await Promise.race([
			followEvents({port: proxy.port, ca: fleet.ca}, `/v1/runs/${requestId}/events`, admin, message => events.push(message.event)).catch(() => ({text: ''})),
			proxy.cut.then(() => ({text: ''})),
		]);
		return {events, heartbeats: stream.text.split(': keep-alive').length - 1, cuts: proxy.cuts()};
	} finally {
		proxy.close();
	}
}

test.serial('heartbeats keep an idle stream open through a proxy\'s idle timeout', async t => {
	const {events, heartbeats, cuts} = await streamThroughProxy(fleet.port);
	t.is(cuts, 0);
	t.true(heartbeats >= 5, `${heartbeats} heartbeats`);
	t.is(events.at(-1), 'run-finished');
});

test.serial('the control: heartbeats a minute apart, and the proxy cuts the stream before the run ends', async t => {
	const slow = await createApiServer({paths: fleet.paths, server: loadServerCredentials(fleet.paths), client: loadControllerCredentials(fleet.paths), heartbeatMs: 60_000, log: () => undefined});
	t.teardown(async () => slow.close());
	const {port} = await slow.listen('127.0.0.1', 0);
	const {events, cuts} = await streamThroughProxy(port);
	t.is(cuts, 1);
	t.false(events.includes('run-finished'));
});
