/**
 * The bench's own network delay (Linux netem is not available in this kernel): a TCP proxy on
 * 127.0.0.1 that holds every chunk `delayMs` in each direction before passing it on, so that a
 * round trip costs 2 × `delayMs`. The TCP handshake is emulated too: the client's first bytes
 * reach the server no sooner than a round trip plus a one-way delay after it connected, as they
 * would over a real link. Ends (FIN) travel through the same delay; a reset closes both sides.
 * Each connection's round trips are counted (round-trips.ts) for the bench's notes.
 *
 * Node built-ins only (net, perf_hooks): it runs in its own host process (delay-host.ts), so its
 * CPU is charged to neither side of a comparison.
 */
import {createServer, connect, type Server, type Socket} from 'node:net';
import {performance} from 'node:perf_hooks';
import {DelayLine} from './delay-line.js';
import {RoundTripCounter} from './round-trips.js';

/** A proxy on 127.0.0.1:listen in front of targetHost:target (targetHost 127.0.0.1 when absent). */
export type ProxyRoute = {listen: number; target: number; targetHost?: string};

/** What one listening port saw since it was last asked: one entry per connection, its round trips. */
export type RouteCounts = {listen: number; roundTrips: number[]};

type Item = Buffer | 'end';

/** Delivers a DelayLine's items to `socket` on time, with one timer at a time. */
function pump(line: DelayLine<Item>, socket: () => Socket | undefined): () => void {
	let timer: NodeJS.Timeout | undefined;
	const flush = () => {
		timer = undefined;
		const target = socket();
		if (!target) {
			return;
		}

		for (const item of line.due(performance.now())) {
			if (item === 'end') {
				target.end();
			} else if (!target.destroyed) {
				target.write(item);
			}
		}

		schedule();
	};

	const schedule = () => {
		const next = line.nextAt();
		if (timer === undefined && next !== undefined && socket()) {
			timer = setTimeout(flush, Math.max(0, next - performance.now()));
		}
	};

	return schedule;
}

export type DelayProxy = {server: Server; take: () => number[]; close: () => Promise<void>};

export function createDelayProxy(route: ProxyRoute, delayMs: number): DelayProxy {
	let finished: number[] = [];
	const open = new Set<Socket>();
	const server = createServer({allowHalfOpen: true, noDelay: true}, client => {
		const accepted = performance.now();
		const counter = new RoundTripCounter();
		// The SYN takes a one-way trip, the SYN-ACK another: the client's data leaves after a round trip.
		const toServer = new DelayLine<Item>(delayMs, accepted + (2 * delayMs));
		const toClient = new DelayLine<Item>(delayMs);
		let backend: Socket | undefined;
		const towardsServer = pump(toServer, () => backend);
		const towardsClient = pump(toClient, () => client);
		let closed = false;
		const closeBoth = () => {
			if (!closed) {
				closed = true;
				finished.push(counter.count());
			}

			client.destroy();
			backend?.destroy();
		};

		open.add(client);
		client.setNoDelay(true);
		client.on('data', (chunk: Buffer) => {
			counter.fromClient();
			toServer.push(chunk, performance.now());
			towardsServer();
		});
		client.on('end', () => {
			toServer.push('end', performance.now());
			towardsServer();
		});
		client.on('error', closeBoth);
		client.on('close', closeBoth);

		// The server sees the connection a one-way trip after the client asked for it.
		setTimeout(() => {
			if (client.destroyed) {
				closeBoth();
				return;
			}

			const socket = connect({host: route.targetHost ?? '127.0.0.1', port: route.target, allowHalfOpen: true, noDelay: true});
			backend = socket;
			open.add(socket);
			socket.on('connect', towardsServer);
			socket.on('data', (chunk: Buffer) => {
				counter.fromServer();
				toClient.push(chunk, performance.now());
				towardsClient();
			});
			socket.on('end', () => {
				toClient.push('end', performance.now());
				towardsClient();
			});
			socket.on('error', closeBoth);
			socket.on('close', hadError => {
				open.delete(socket);
				// A server that ended its side cleanly has its FIN in the line: the client closes after it.
				if (hadError || !socket.readableEnded) {
					closeBoth();
				}
			});
		}, delayMs);
		client.on('close', () => open.delete(client));
	});

	return {
		server,
		take() {
			const taken = finished;
			finished = [];
			return taken;
		},
		close: () => new Promise(resolve => {
			for (const socket of open) {
				socket.destroy();
			}

			server.close(() => resolve());
		}),
	};
}

export function listenProxy(proxy: DelayProxy, port: number): Promise<void> {
	return new Promise((resolve, reject) => {
		proxy.server.once('error', reject);
		proxy.server.listen(port, '127.0.0.1', () => {
			proxy.server.off('error', reject);
			resolve();
		});
	});
}
