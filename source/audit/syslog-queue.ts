/**
 * What a syslog forwarder holds: the messages waiting, the ones sent but not yet called back
 * (oldest first), how many went, how many were lost and why, and the reconnect backoff (250 ms
 * doubling to 30 s by default; the forwarder adds jitter). Pure: syslog.ts does the sockets, the
 * timers and the spool, and asks this what to send next and what is left.
 */
import type {DropReason} from './syslog-spool.js';

export type DroppedCounts = Partial<Record<DropReason | 'queue full', number>>;

export class SyslogQueue {
	/** Waiting to be sent. */
	readonly waiting: string[] = [];
	/** Sent but not yet called back, oldest first. */
	readonly inflight: string[] = [];
	readonly dropped: DroppedCounts = {};
	sent = 0;

	constructor(private readonly maxQueued: number) {}

	/** Queues a message; what no longer fits in memory (the oldest) is handed back, for the spool. */
	push(message: string): string[] {
		this.waiting.push(message);
		return this.waiting.length > this.maxQueued ? this.waiting.splice(0, this.waiting.length - this.maxQueued) : [];
	}

	/** Messages from before (the spool): they go first. */
	prepend(messages: readonly string[]): void {
		this.waiting.unshift(...messages);
	}

	/** The next message to send, now in flight; undefined when nothing waits. */
	take(): string | undefined {
		const message = this.waiting.shift();
		if (message !== undefined) {
			this.inflight.push(message);
		}

		return message;
	}

	/** A send called back: `sent` it went, `lost` it never will (counted by the caller), `again` it goes first next time. */
	settle(message: string, outcome: 'sent' | 'lost' | 'again'): void {
		const index = this.inflight.indexOf(message);
		if (index >= 0) {
			this.inflight.splice(index, 1);
		}

		if (outcome === 'sent') {
			this.sent++;
		} else if (outcome === 'again') {
			this.waiting.unshift(message);
		}
	}

	/** The connection broke: whatever was in flight may not have arrived, so it is sent again, first. */
	resendInflight(): void {
		this.waiting.unshift(...this.inflight.splice(0));
	}

	/** Everything not sent, in flight first; the queue is then empty. */
	takeAll(): string[] {
		return [...this.inflight.splice(0), ...this.waiting.splice(0)];
	}

	count(reason: keyof DroppedCounts, n: number): void {
		this.dropped[reason] = (this.dropped[reason] ?? 0) + n;
	}

	get pending(): number {
		return this.waiting.length + this.inflight.length;
	}

	get droppedTotal(): number {
		return Object.values(this.dropped).reduce((total, n) => total + n, 0);
	}
}

/** The reconnect delay: the first after a success, doubling up to the maximum. */
export class Backoff {
	private current: number;

	constructor(private readonly firstMs: number, private readonly maxMs: number) {
		this.current = firstMs;
	}

	next(): number {
		const delay = Math.min(this.current, this.maxMs);
		this.current = Math.min(this.current * 2, this.maxMs);
		return delay;
	}

	reset(): void {
		this.current = this.firstMs;
	}
}
