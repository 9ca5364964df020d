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
import type {AuditRecord} from './record.js';
import type {Channel} from './syslog-channel.js';
import {formatSyslog, type SyslogTarget} from './syslog-format.js';
import {Backoff, SyslogQueue, type DroppedCounts} from './syslog-queue.js';
import type {DropReason, Spool} from './syslog-spool.js';

export {formatSyslog, isPrivateSdId, parseSyslogUrl, sdIdPattern, type SyslogTarget} from './syslog-format.js';

export type ForwarderStatus = {
	/** In memory, not yet sent. */
	queued: number;
	sent: number;
	connected: boolean;
	/** Why the last connection or send failed, if it did. */
	lastError?: string;
	/** Lost by this process, by reason (the spool keeps its own count across processes). */
	dropped: DroppedCounts;
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

type ForwarderEvent = Parameters<NonNullable<ForwarderOptions['onEvent']>>[0];

export function createSyslogForwarder(target: SyslogTarget, appName: string, options: ForwarderOptions = {}): SyslogForwarder {
	const forwarder = new Forwarder(target, options);
	return {
		forward: record => {
			forwarder.forward(formatSyslog(record, appName, options.host, options.sdId));
		},
		dropped: () => forwarder.queue.droppedTotal,
		status: () => forwarder.status(),
		close: async () => forwarder.close(),
	};
}

/** The forwarder's connection, queue and spool: one instance per target, for the process's life. */
class Forwarder {
	readonly queue: SyslogQueue;
	private readonly backoff: Backoff;
	private readonly pendingIo: Array<Promise<unknown>> = [];
	private readonly where: string;
	private channel: Channel | undefined;
	private connecting = false;
	private closing = false;
	private finished = false;
	private failedSinceClose = false;
	private away = false;
	private retryTimer: NodeJS.Timeout | undefined;
	private lastError: string | undefined;
	private changed: (() => void) | undefined;
	private ready: boolean;

	constructor(private readonly target: SyslogTarget, private readonly options: ForwarderOptions) {
		this.queue = new SyslogQueue(options.maxQueued ?? 10_000);
		this.backoff = new Backoff(options.retryMs ?? 250, options.maxRetryMs ?? 30_000);
		this.where = `${target.transport}://${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
		this.ready = !options.spool;
		if (options.spool) {
			this.takeBacklog(options.spool);
		}

		this.connectNow();
	}

	forward(message: string): void {
		if (this.closing) {
			this.spill([message]);
			return;
		}

		this.spill(this.queue.push(message));
		this.pump();
		this.connectNow();
	}

	status(): ForwarderStatus {
		return {queued: this.queue.pending, sent: this.queue.sent, connected: this.channel !== undefined, ...(this.lastError ? {lastError: this.lastError} : {}), dropped: {...this.queue.dropped}};
	}

	/** Sends what is waiting (at most `flushTimeoutMs`), then spools the rest. */
	async close(): Promise<void> {
		this.closing = true;
		clearTimeout(this.retryTimer);
		this.channel?.ref();
		const deadline = Date.now() + (this.options.flushTimeoutMs ?? 2000);
		if (!this.channel && !this.connecting) {
			this.connectNow();
		}

		// Until everything is sent, the collector has failed once more, or the time is up.
		while ((!this.ready || this.queue.pending > 0) && !this.failedSinceClose && Date.now() < deadline) {
			await new Promise<void>(resolve => {
				this.changed = resolve;
				setTimeout(resolve, Math.max(1, Math.min(50, deadline - Date.now())));
			});
			this.pump();
		}

		this.changed = undefined;
		await Promise.allSettled(this.pendingIo);
		this.spill(this.queue.takeAll());
		await Promise.allSettled(this.pendingIo);
		this.finished = true;
		await this.channel?.end();
		this.channel = undefined;
	}

	private tell(event: ForwarderEvent, fields: Record<string, unknown>): void {
		try {
			this.options.onEvent?.(event, {target: this.where, ...fields});
		} catch {
			// Whoever listens cannot make forwarding fail.
		}
	}

	private count(reason: DropReason | 'queue full', n = 1): void {
		this.queue.count(reason, n);
		this.tell('syslog.dropped', {records: n, reason});
	}

	/** Messages that do not fit in memory (or are left at close) go to the spool; without one they are lost, and counted. */
	private spill(messages: string[]): void {
		if (messages.length === 0) {
			return;
		}

		const {spool} = this.options;
		if (!spool) {
			this.count('queue full', messages.length);
			return;
		}

		this.pendingIo.push(spool.put(messages).then(() => {
			this.tell('syslog.spooled', {records: messages.length, spool: spool.path, reason: this.lastError ?? (this.closing ? 'not delivered before exit' : 'queue full')});
		}, () => {
			this.count('spool unwritable', messages.length);
		}));
	}

	/** What earlier processes could not deliver goes first. */
	private takeBacklog(spool: Spool): void {
		this.pendingIo.push(spool.take().then(messages => {
			this.queue.prepend(messages);
			const {dropped: droppedBefore} = spool.status();
			if (messages.length > 0 || Object.keys(droppedBefore).length > 0) {
				this.tell('syslog.backlog', {records: messages.length, spool: spool.path, droppedBefore});
			}
		}, (error: unknown) => {
			this.lastError = `spool: ${(error as Error).message}`;
		}).finally(() => {
			this.ready = true;
			this.pump();
			this.changed?.();
		}));
	}

	private connectNow(): void {
		if (this.channel || this.connecting) {
			return;
		}

		this.connecting = true;
		// The sockets' code (node:dgram among it) loads with the first connection, not with every
		// process that opens an audit log: a one-shot run with no syslog configured never needs it.
		void import('./syslog-channel.js').then(({openChannel}) => {
			openChannel(this.target, open => {
				this.connected(open);
			}, error => {
				this.broken(error);
			}, this.closing);
		}, (error: unknown) => {
			this.broken(error as Error);
		});
	}

	private connected(open: Channel): void {
		this.connecting = false;
		if (this.finished) {
			// A connection that completed after close(): nothing is left to send on it.
			void open.end();
			return;
		}

		this.channel = open;
		this.backoff.reset();
		this.lastError = undefined;
		if (this.away) {
			this.away = false;
			this.tell('syslog.reconnected', {queued: this.queue.waiting.length});
		}

		if (this.closing) {
			open.ref();
		}

		this.pump();
	}

	private broken(error: Error | undefined): void {
		this.connecting = false;
		this.channel = undefined;
		if (error) {
			this.lastError = (error as NodeJS.ErrnoException).code ?? error.message;
		}

		if (!this.away && !this.closing) {
			this.away = true;
			this.tell('syslog.unreachable', {reason: this.lastError, queued: this.queue.pending});
		}

		this.queue.resendInflight();
		if (this.closing) {
			this.failedSinceClose = true;
			this.changed?.();
			return;
		}

		this.retryTimer = setTimeout(() => {
			this.connectNow();
		}, this.backoff.next() * (0.75 + (Math.random() * 0.5)));
		this.retryTimer.unref();
	}

	private pump(): void {
		while (this.ready && this.channel) {
			const message = this.queue.take();
			if (message === undefined) {
				return;
			}

			const via = this.channel;
			via.send(message, error => {
				this.sendDone(message, via, error);
			});
		}
	}

	private sendDone(message: string, via: Channel, error: Error | undefined): void {
		if (!error) {
			this.queue.settle(message, 'sent');
		} else if ((error as NodeJS.ErrnoException).code === 'EMSGSIZE') {
			this.queue.settle(message, 'lost');
			this.count('too large for UDP');
			this.pendingIo.push(this.options.spool?.drop('too large for UDP', 1).catch(() => undefined) ?? Promise.resolve());
		} else {
			this.queue.settle(message, 'again');
			if (this.channel === via) {
				void via.end();
				this.broken(error);
			}
		}

		this.changed?.();
	}
}
