/**
 * Idle and slow connections against a TLS listener, for the deadline tests: raw TCP that never
 * says hello, a TLS handshake begun and never finished, a TLS connection that sends nothing, and
 * one that trickles its first bytes. Each resolves when the listener closes it, with the time.
 */
import {connect as connectTcp, type Socket} from 'node:net';
import {connect as connectTls} from 'node:tls';

export type FloodKind = 'tcp' | 'partial-hello' | 'tls-idle' | 'tls-trickle';

export type Flood = {
	/** Each connection's kind and how long after opening it was closed (ms); resolves when all are closed. */
	closed: Promise<Array<{kind: FloodKind; afterMs: number}>>;
	openNow: () => number;
	destroy: () => void;
};

/** A TLS 1.3 ClientHello's first bytes, cut short: the handshake starts and never completes. */
const partialHello = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]);

export function openFlood(port: number, counts: Partial<Record<FloodKind, number>>, options: {localAddress?: string; trickle?: string} = {}): Flood {
	const sockets: Socket[] = [];
	const timers: NodeJS.Timeout[] = [];
	let open = 0;
	const closures: Array<Promise<{kind: FloodKind; afterMs: number}>> = [];
	const local = options.localAddress ? {localAddress: options.localAddress} : {};
	for (const [kind, count] of Object.entries(counts) as Array<[FloodKind, number]>) {
		for (let index = 0; index < count; index++) {
			const started = Date.now();
			const socket: Socket = kind === 'tcp' || kind === 'partial-hello'
				? connectTcp({host: '127.0.0.1', port, ...local})
				: connectTls({host: '127.0.0.1', port, rejectUnauthorized: false, minVersion: 'TLSv1.3', ...local});
			socket.on('error', () => undefined);
			// Read (and drop) whatever comes: a paused socket would never see the listener's end.
			socket.resume();
			open++;
			if (kind === 'partial-hello') {
				socket.once('connect', () => socket.write(partialHello));
			}

			if (kind === 'tls-trickle') {
				const text = options.trickle ?? 'GET / HTTP/1.1\r\nHost: x\r\n';
				let sent = 0;
				socket.once('secureConnect', () => {
					const timer = setInterval(() => {
						if (socket.writable) {
							socket.write(text[sent % text.length]!);
							sent++;
						}
					}, 250);
					timers.push(timer);
					socket.once('close', () => clearInterval(timer));
				});
			}

			sockets.push(socket);
			closures.push(new Promise(resolve => {
				socket.once('close', () => {
					open--;
					resolve({kind, afterMs: Date.now() - started});
				});
			}));
		}
	}

	return {
		closed: Promise.all(closures),
		openNow: () => open,
		destroy() {
			for (const timer of timers) {
				clearInterval(timer);
			}

			for (const socket of sockets) {
				socket.destroy();
			}
		},
	};
}

/** Resolves with `promise`, or rejects once `ms` have passed (a bound, so a test cannot hang). */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	try {
		return await Promise.race([promise, new Promise<never>((_resolve, reject) => {
			timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
		})]);
	} finally {
		clearTimeout(timer);
	}
}
