/**
 * Forwards audit records to a syslog collector as RFC 5424 messages (JSON in the message,
 * structured data with the request id), over UDP, TCP or TLS (octet-counted framing, RFC 6587).
 * The local file stays the source of truth: forwarding never blocks or fails an append; while the
 * collector is down, messages wait in a bounded queue and the oldest are dropped (and counted).
 */
import {createSocket} from 'node:dgram';
import {connect as connectTcp, type Socket} from 'node:net';
import {connect as connectTls} from 'node:tls';
import {hostname} from 'node:os';
import {canonical, type AuditRecord} from './record.js';

export type SyslogTarget = {transport: 'udp' | 'tcp' | 'tls'; host: string; port: number; ca?: string};

/** Facility 13 (log audit), severity 6 (informational). */
const priority = (13 * 8) + 6;
const enterpriseId = 32_473;

export function formatSyslog(record: AuditRecord, appName: string, host = hostname()): string {
	const sd = record['requestId'] === undefined ? '-' : `[xi-exec@${enterpriseId} requestId="${escapeSd(String(record['requestId']))}" seq="${record.seq}" log="${escapeSd(record.log)}"]`;
	const msgId = record.event.replace(/[^\x21-\x7E]/g, '').slice(0, 32) || '-';
	return `<${priority}>1 ${record.ts} ${host.slice(0, 255) || '-'} ${appName} ${process.pid} ${msgId} ${sd} ${canonical(record)}`;
}

function escapeSd(value: string): string {
	return value.replace(/["\\\]]/g, character => `\\${character}`);
}

export type SyslogForwarder = {forward: (record: AuditRecord) => void; dropped: () => number; close: () => Promise<void>};

export function createSyslogForwarder(target: SyslogTarget, appName: string, options: {maxQueued?: number; retryMs?: number} = {}): SyslogForwarder {
	const maxQueued = options.maxQueued ?? 10_000;
	const queue: string[] = [];
	let droppedCount = 0;
	let closed = false;

	if (target.transport === 'udp') {
		const socket = createSocket(target.host.includes(':') ? 'udp6' : 'udp4');
		socket.on('error', () => undefined);
		socket.unref();
		return {
			forward(record) {
				if (closed) {
					// send() on a closed socket throws; forwarding must never throw.
					droppedCount++;
					return;
				}

				const message = Buffer.from(formatSyslog(record, appName));
				socket.send(message, target.port, target.host, error => {
					if (error) {
						droppedCount++;
					}
				});
			},
			dropped: () => droppedCount,
			async close() {
				closed = true;
				await new Promise<void>(resolve => {
					socket.close(() => resolve());
				});
			},
		};
	}

	let stream: Socket | undefined;
	let connecting = false;
	const connectNow = () => {
		if (closed || connecting || stream) {
			return;
		}

		connecting = true;
		const socket = target.transport === 'tls'
			? connectTls({host: target.host, port: target.port, ...(target.ca ? {ca: [target.ca]} : {}), minVersion: 'TLSv1.2'})
			: connectTcp({host: target.host, port: target.port});
		socket.unref();
		socket.once(target.transport === 'tls' ? 'secureConnect' : 'connect', () => {
			connecting = false;
			stream = socket;
			pump();
		});
		socket.on('error', () => undefined);
		socket.once('close', () => {
			connecting = false;
			stream = undefined;
			if (!closed) {
				setTimeout(connectNow, options.retryMs ?? 1000).unref();
			}
		});
	};

	const pump = () => {
		while (stream && queue.length > 0) {
			const message = queue.shift()!;
			stream.write(`${Buffer.byteLength(message)} ${message}`);
		}
	};

	connectNow();
	return {
		forward(record) {
			queue.push(formatSyslog(record, appName));
			if (queue.length > maxQueued) {
				queue.shift();
				droppedCount++;
			}

			pump();
			connectNow();
		},
		dropped: () => droppedCount,
		async close() {
			closed = true;
			if (stream) {
				await new Promise<void>(resolve => {
					stream!.end(() => resolve());
				});
			}
		},
	};
}

export function parseSyslogUrl(url: string): SyslogTarget | string {
	const match = /^(udp|tcp|tls):\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(url);
	if (!match) {
		return `syslog target ${JSON.stringify(url)} must be udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT`;
	}

	return {transport: match[1] as SyslogTarget['transport'], host: match[2]!.replace(/^\[|\]$/g, ''), port: Number(match[3])};
}
