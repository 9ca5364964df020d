import {connect, createServer, type AddressInfo, type Server, type Socket} from 'node:net';
import test from 'ava';
import {DelayLine} from '../../bench/delay-line.js';
import {createDelayProxy, listenProxy, type DelayProxy} from '../../bench/delay-proxy.js';
import {RoundTripCounter} from '../../bench/round-trips.js';

test('a delay line holds each item for the delay, in arrival order', t => {
	const line = new DelayLine<string>(25);
	line.push('a', 100);
	line.push('b', 110);
	t.is(line.nextAt(), 125);
	t.deepEqual(line.due(124), []);
	t.deepEqual(line.due(125), ['a']);
	t.is(line.nextAt(), 135);
	t.deepEqual(line.due(200), ['b']);
	t.is(line.nextAt(), undefined);
});

test('a delay line delivers nothing before its handshake is over, then in order', t => {
	// Accepted at 0 with a 25 ms delay: the client's bytes leave at 50 and arrive at 75.
	const line = new DelayLine<string>(25, 50);
	line.push('hello', 1);
	line.push('world', 60);
	t.deepEqual(line.due(74), []);
	t.deepEqual(line.due(75), ['hello']);
	t.deepEqual(line.due(85), ['world']);
});

test('a delay line never reorders, even when the clock steps back', t => {
	const line = new DelayLine<string>(10);
	line.push('first', 100);
	line.push('second', 90);
	t.deepEqual(line.due(109), []);
	t.deepEqual(line.due(110), ['first', 'second']);
});

const conversations: Array<{name: string; flights: Array<'c' | 's'>; roundTrips: number}> = [
	{name: 'connect only', flights: [], roundTrips: 1},
	{name: 'one request, one answer', flights: ['c', 's'], roundTrips: 2},
	{name: 'TLS 1.3 with a request after the handshake', flights: ['c', 's', 'c', 'c', 's', 's'], roundTrips: 3},
	{name: 'describe then run on one connection', flights: ['c', 's', 'c', 's', 'c', 's'], roundTrips: 4},
	{name: 'an unanswered close_notify', flights: ['c', 's', 'c'], roundTrips: 2},
	{name: 'a server that speaks first', flights: ['s', 'c', 's'], roundTrips: 2},
];

for (const conversation of conversations) {
	test(`round trips: ${conversation.name}`, t => {
		const counter = new RoundTripCounter();
		for (const flight of conversation.flights) {
			if (flight === 'c') {
				counter.fromClient();
			} else {
				counter.fromServer();
			}
		}

		t.is(counter.count(), conversation.roundTrips);
	});
}

/** An echo server that answers each line with `>` + the line, and ends when told `bye`. */
async function lineServer(): Promise<Server> {
	const server = createServer({allowHalfOpen: true}, socket => {
		let buffered = '';
		socket.on('data', (chunk: Buffer) => {
			buffered += chunk.toString();
			let newline: number;
			while ((newline = buffered.indexOf('\n')) !== -1) {
				const line = buffered.slice(0, newline);
				buffered = buffered.slice(newline + 1);
				if (line === 'bye') {
					socket.end('bye\n');
				} else {
					socket.write(`>${line}\n`);
				}
			}
		});
		socket.on('error', () => socket.destroy());
	});
	await new Promise<void>(resolve => {
		server.listen(0, '127.0.0.1', resolve);
	});
	return server;
}

/** Sends each line after the answer to the previous one; resolves with everything read until the end. */
function converse(port: number, lines: string[]): Promise<string> {
	return new Promise((resolve, reject) => {
		const socket: Socket = connect({host: '127.0.0.1', port});
		let received = '';
		let next = 0;
		const send = () => {
			if (next < lines.length) {
				socket.write(`${lines[next++]}\n`);
			}
		};

		socket.on('connect', send);
		socket.on('data', (chunk: Buffer) => {
			received += chunk.toString();
			if (received.endsWith('\n')) {
				send();
			}
		});
		socket.on('error', reject);
		socket.on('close', () => resolve(received));
	});
}

/** The proxy's counts once it has seen its side of the connection close (just after the client's). */
async function counted(proxy: DelayProxy): Promise<number[]> {
	for (;;) {
		const taken = proxy.take();
		if (taken.length > 0) {
			return taken;
		}

		await new Promise(resolve => setImmediate(resolve));
	}
}

test('the proxy passes bytes both ways in order, passes the end on, and counts round trips', async t => {
	const server = await lineServer();
	const proxy = createDelayProxy({listen: 0, target: (server.address() as AddressInfo).port}, 5);
	await listenProxy(proxy, 0);
	try {
		const port = (proxy.server.address() as AddressInfo).port;
		const big = 'x'.repeat(200_000);
		const received = await converse(port, ['one', big, 'two', 'bye']);
		t.is(received, `>one\n>${big}\n>two\nbye\n`);
		// TCP, then four requests each answered.
		t.deepEqual(await counted(proxy), [5]);
		t.deepEqual(proxy.take(), [], 'taken counts are not reported twice');
	} finally {
		await proxy.close();
		server.close();
	}
});

test('a connection to a port nobody listens on is closed for the client, and counted', async t => {
	const unused = createServer();
	await new Promise<void>(resolve => {
		unused.listen(0, '127.0.0.1', resolve);
	});
	const deadPort = (unused.address() as AddressInfo).port;
	await new Promise(resolve => {
		unused.close(resolve);
	});
	const proxy = createDelayProxy({listen: 0, target: deadPort}, 5);
	await listenProxy(proxy, 0);
	try {
		const received = await converse((proxy.server.address() as AddressInfo).port, ['anyone?']);
		t.is(received, '');
		t.deepEqual(await counted(proxy), [1]);
	} finally {
		await proxy.close();
	}
});
