/**
 * Forwards audit records to a syslog collector as RFC 5424 messages (the canonical record as the
 * message), over UDP, TCP or TLS (octet-counted framing, RFC 6587). The local file stays the source
 * of truth: `forward` never blocks or fails an append. Nothing is lost silently:
 *
 *   - messages wait in memory while the collector is away (reconnecting with backoff, 250 ms
 *     doubling to 30 s, with jitter); beyond `maxQueued` they go to the on-disk spool;
 *   - `close` waits (bounded, `flushTimeoutMs`) until everything is sent, then puts whatever is
 *     left in the spool (syslog-spool.ts), which the next forwarder of the same side sends first;
 *   - what is lost anyway (the spool's bound, an unwritable spool, a datagram too large for UDP) is
 *     counted by reason, shown by `xi-exec doctor` and the agent's log.
 *
 * What "sent" means: TCP and TLS, handed to the kernel (write() called back); UDP, the datagram was
 * sent (a connected socket, so a collector that refuses is seen on the next send). Plain syslog has
 * no acknowledgement: a collector that dies holding unread bytes loses them. A message that may or
 * may not have gone when a connection broke is sent again (the collector may see it twice).
 *
 * Structured data: `[origin software="xi-exec" swVersion=…]` and `[meta sequenceId=…]` (the record's
 * seq + 1), both registered with IANA (RFC 5424 §7), so no enterprise number is claimed by default.
 * With `sdId` (settings `syslogSdId`, e.g. "xi-exec@YOUR-PEN", your organisation's private enterprise
 * number) the request id, seq and log id follow in that element.
 */
import {createSocket, type Socket as UdpSocket} from 'node:dgram';
import {connect as connectTcp, type Socket} from 'node:net';
import {connect as connectTls} from 'node:tls';
import {hostname} from 'node:os';
import {canonical, type AuditRecord} from './record.js';
import type {DropReason, Spool} from './syslog-spool.js';

export type SyslogTarget = {transport: 'udp' | 'tcp' | 'tls'; host: string; port: number; ca?: string};

/** Facility 13 (log audit), severity 6 (informational). */
const priority = (13 * 8) + 6;
const softwareVersion = '0.1.0';

/** name@number, as RFC 5424 §6.3.2 requires of an SD-ID that is not registered with IANA. */
export const sdIdPattern = /^[\x21-\x7E]{1,32}$/;

export function isPrivateSdId(value: string): boolean {
	const at = value.indexOf('@');
	return sdIdPattern.test(value) && !/[= \]"]/.test(value) && at > 0 && /^\d+(\.\d+)*$/.test(value.slice(at + 1)) && value.slice(at + 1) !== '32473';
}

export function formatSyslog(record: AuditRecord, appName: string, host = hostname(), sdId?: string): string {
	const sequenceId = (record.seq % 2_147_483_647) + 1;
	const ours = sdId && record['requestId'] !== undefined ? `[${sdId} requestId="${escapeSd(String(record['requestId']))}" seq="${record.seq}" log="${escapeSd(record.log)}"]` : '';
	const sd = `[origin software="xi-exec" swVersion="${softwareVersion}"][meta sequenceId="${sequenceId}"]${ours}`;
	const msgId = record.event.replace(/[^\x21-\x7E]/g, '').slice(0, 32) || '-';
	return `<${priority}>1 ${record.ts} ${host.slice(0, 255) || '-'} ${appName} ${process.pid} ${msgId} ${sd} ${canonical(record)}`;
}

function escapeSd(value: string): string {
	return value.replace(/["\\\]]/g, character => `\\${character}`);
}

export type ForwarderStatus = {
	/** In memory, not yet sent. */
	queued: number;
	sent: number;
	connected: boolean;
	/** Why the last connection or send failed, if it did. */
	lastError?: string;
	/** Lost by this process, by reason (the spool keeps its own count across processes). */
	dropped: Partial<Record<DropReason | 'queue full', number>>;
};

export type SyslogForwarder = {
	forward: (record: AuditRecord) => void;
	dropped: () => number;
	status: () => ForwarderStatus;
	/** Sends what is waiting (at most `flushTimeoutMs`), then spools the rest. */
	close: () => Promise<void>;
};

export type ForwarderOptions = {
	/** Messages kept in memory before they go to the spool (or, without one, are dropped). */
	maxQueued?: number;
	/** First reconnect delay; doubles up to `maxRetryMs`. */
	retryMs?: number;
	maxRetryMs?: number;
	/** How long `close` waits for the collector before spooling (default 2000). */
	flushTimeoutMs?: number;
	spool?: Spool;
	sdId?: string;
	host?: string;
	/** Told when the collector goes away or comes back, and of every message spooled or dropped (the agent logs these). */
	onEvent?: (event: 'syslog.backlog' | 'syslog.unreachable' | 'syslog.reconnected' | 'syslog.spooled' | 'syslog.dropped', fields: Record<string, unknown>) => void;
};

type Channel = {
	/** Sends one message; `done` gets an error when it did not go. */
	send: (message: string, done: (error?: Error) => void) => void;
	ref: () => void;
	end: () => Promise<void>;
};

export function createSyslogForwarder(target: SyslogTarget, appName: string, options: ForwarderOptions = {}): SyslogForwarder {
	const maxQueued = options.maxQueued ?? 10_000;
	const firstRetryMs = options.retryMs ?? 250;
	const maxRetryMs = options.maxRetryMs ?? 30_000;
	const queue: string[] = [];
	/** Sent but not yet called back, oldest first. */
	const inflight: string[] = [];
	const dropped: ForwarderStatus['dropped'] = {};
	const pendingIo: Array<Promise<unknown>> = [];
	let sent = 0;
	let channel: Channel | undefined;
	let connecting = false;
	let closing = false;
	let finished = false;
	let failedSinceClose = false;
	let retryMs = firstRetryMs;
	let retryTimer: NodeJS.Timeout | undefined;
	let lastError: string | undefined;
	let changed: (() => void) | undefined;
	let ready = !options.spool;

	const where = `${target.transport}://${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
	const tell: NonNullable<ForwarderOptions['onEvent']> = (event, fields) => {
		try {
			options.onEvent?.(event, {target: where, ...fields});
		} catch {
			// Whoever listens cannot make forwarding fail.
		}
	};

	let away = false;
	const count = (reason: DropReason | 'queue full', n = 1) => {
		dropped[reason] = (dropped[reason] ?? 0) + n;
		tell('syslog.dropped', {records: n, reason});
	};

	const spill = (messages: string[]) => {
		if (messages.length === 0) {
			return;
		}

		if (!options.spool) {
			count('queue full', messages.length);
			return;
		}

		pendingIo.push(options.spool.put(messages).then(() => {
			tell('syslog.spooled', {records: messages.length, spool: options.spool!.path, reason: lastError ?? (closing ? 'not delivered before exit' : 'queue full')});
		}, () => {
			count('spool unwritable', messages.length);
		}));
	};

	const connected = (open: Channel) => {
		connecting = false;
		if (finished) {
			// A connection that completed after close(): nothing is left to send on it.
			void open.end();
			return;
		}

		channel = open;
		retryMs = firstRetryMs;
		lastError = undefined;
		if (away) {
			away = false;
			tell('syslog.reconnected', {queued: queue.length});
		}

		if (closing) {
			open.ref();
		}

		pump();
	};

	const broken = (error: Error | undefined) => {
		connecting = false;
		channel = undefined;
		if (error) {
			lastError = (error as NodeJS.ErrnoException).code ?? error.message;
		}

		if (!away && !closing) {
			away = true;
			tell('syslog.unreachable', {reason: lastError, queued: queue.length + inflight.length});
		}

		// Whatever was in flight may not have arrived: send it again, first.
		queue.unshift(...inflight.splice(0));
		if (closing) {
			failedSinceClose = true;
			changed?.();
			return;
		}

		const delay = Math.min(retryMs, maxRetryMs);
		retryMs = Math.min(retryMs * 2, maxRetryMs);
		retryTimer = setTimeout(connectNow, delay * (0.75 + (Math.random() * 0.5)));
		retryTimer.unref();
	};

	function connectNow(): void {
		if (channel || connecting) {
			return;
		}

		connecting = true;
		if (target.transport === 'udp') {
			openUdp(target, connected, broken, closing);
		} else {
			openStream(target, connected, broken, closing);
		}
	}

	function pump(): void {
		while (ready && channel && queue.length > 0) {
			const message = queue.shift()!;
			inflight.push(message);
			const via = channel;
			via.send(message, error => {
				const index = inflight.indexOf(message);
				if (index >= 0) {
					inflight.splice(index, 1);
				}

				if (!error) {
					sent++;
				} else if ((error as NodeJS.ErrnoException).code === 'EMSGSIZE') {
					count('too large for UDP');
					pendingIo.push(options.spool?.drop('too large for UDP', 1).catch(() => undefined) ?? Promise.resolve());
				} else {
					queue.unshift(message);
					if (channel === via) {
						void via.end();
						broken(error);
					}
				}

				changed?.();
			});
		}
	}

	if (options.spool) {
		// What earlier processes could not deliver goes first.
		const {spool} = options;
		pendingIo.push(spool.take().then(messages => {
			queue.unshift(...messages);
			const {dropped: droppedBefore} = spool.status();
			if (messages.length > 0 || Object.keys(droppedBefore).length > 0) {
				tell('syslog.backlog', {records: messages.length, spool: spool.path, droppedBefore});
			}

		}, (error: unknown) => {
			lastError = `spool: ${(error as Error).message}`;
		}).finally(() => {
			ready = true;
			pump();
			changed?.();
		}));
	}

	connectNow();
	return {
		forward(record) {
			if (closing) {
				spill([formatSyslog(record, appName, options.host, options.sdId)]);
				return;
			}

			queue.push(formatSyslog(record, appName, options.host, options.sdId));
			if (queue.length > maxQueued) {
				spill(queue.splice(0, queue.length - maxQueued));
			}

			pump();
			connectNow();
		},
		dropped: () => Object.values(dropped).reduce((total, n) => total + n, 0),
		status: () => ({queued: queue.length + inflight.length, sent, connected: channel !== undefined, ...(lastError ? {lastError} : {}), dropped: {...dropped}}),
		async close() {
			closing = true;
			clearTimeout(retryTimer);
			channel?.ref();
			const deadline = Date.now() + (options.flushTimeoutMs ?? 2000);
			if (!channel && !connecting) {
				connectNow();
			}

			// Until everything is sent, the collector has failed once more, or the time is up.
			while ((!ready || queue.length > 0 || inflight.length > 0) && !failedSinceClose && Date.now() < deadline) {
				await new Promise<void>(resolve => {
					changed = resolve;
					setTimeout(resolve, Math.max(1, Math.min(50, deadline - Date.now())));
				});
				pump();
			}

			changed = undefined;
			await Promise.allSettled(pendingIo);
			const left = [...inflight.splice(0), ...queue.splice(0)];
			spill(left);
			await Promise.allSettled(pendingIo);
			finished = true;
			await channel?.end();
			channel = undefined;
		},
	};
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

export function parseSyslogUrl(url: string): SyslogTarget | string {
	const match = /^(udp|tcp|tls):\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(url);
	if (!match) {
		return `syslog target ${JSON.stringify(url)} must be udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT`;
	}

	return {transport: match[1] as SyslogTarget['transport'], host: match[2]!.replace(/^\[|\]$/g, ''), port: Number(match[3])};
}
