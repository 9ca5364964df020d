/**
 * The sockets a syslog forwarder sends over: a connected UDP socket (one datagram per message) or
 * a TCP or TLS stream (octet-counted framing, RFC 6587). Each opens once, says `connected` with
 * a channel or `broken` with why, and says `broken` again when a stream closes.
 */
import {createSocket, type Socket as UdpSocket} from 'node:dgram';
import {connect as connectTcp, type Socket} from 'node:net';
import {connect as connectTls} from 'node:tls';
import type {SyslogTarget} from './syslog-format.js';

export type Channel = {
	/** Sends one message; `done` gets an error when it did not go. */
	send: (message: string, done: (error?: Error) => void) => void;
	ref: () => void;
	end: () => Promise<void>;
};

/** `referenced`: whether the socket keeps the process alive (only while closing). */
export function openChannel(target: SyslogTarget, connected: (channel: Channel) => void, broken: (error?: Error) => void, referenced: boolean): void {
	if (target.transport === 'udp') {
		openUdp(target, connected, broken, referenced);
	} else {
		openStream(target, connected, broken, referenced);
	}
}

function openUdp(target: SyslogTarget, connected: (channel: Channel) => void, broken: (error?: Error) => void, referenced: boolean): void {
	const socket: UdpSocket = createSocket(target.host.includes(':') ? 'udp6' : 'udp4');
	if (!referenced) {
		socket.unref();
	}

	let open = false;
	socket.on('error', error => {
		if (!open) {
			socket.close();
			broken(error);
		}
	});
	socket.connect(target.port, target.host, () => {
		open = true;
		connected({
			send(message, done) {
				try {
					socket.send(Buffer.from(message), error => {
						done(error ?? undefined);
					});
				} catch (error) {
					done(error as Error);
				}
			},
			ref: () => socket.ref(),
			end: async () => new Promise<void>(resolve => {
				try {
					socket.close(() => resolve());
				} catch {
					resolve();
				}
			}),
		});
	});
}

function openStream(target: SyslogTarget, connected: (channel: Channel) => void, broken: (error?: Error) => void, referenced: boolean): void {
	const socket: Socket = target.transport === 'tls'
		? connectTls({host: target.host, port: target.port, ...(target.ca ? {ca: [target.ca]} : {}), minVersion: 'TLSv1.2'})
		: connectTcp({host: target.host, port: target.port});
	if (!referenced) {
		socket.unref();
	}

	let failure: Error | undefined;
	socket.once(target.transport === 'tls' ? 'secureConnect' : 'connect', () => {
		connected({
			send(message, done) {
				socket.write(`${Buffer.byteLength(message)} ${message}`, error => {
					done(error ?? undefined);
				});
			},
			ref: () => socket.ref(),
			end: async () => new Promise<void>(resolve => {
				if (socket.destroyed) {
					resolve();
					return;
				}

				socket.once('close', () => resolve());
				socket.end();
				setTimeout(() => socket.destroy(), 1000).unref();
			}),
		});
	});
	socket.on('error', error => {
		failure = error;
	});
	// The peer closing its side ends this connection too: what is written after would be lost.
	socket.once('end', () => socket.destroy());
	socket.once('close', () => {
		broken(failure ?? new Error('the collector closed the connection'));
	});
}
