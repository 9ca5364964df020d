/**
 * Replay protection for relay requests, on top of the direct-TLS replay guard: each accepted
 * (request id, sequence, nonce) is remembered (and persisted, replay-memory.ts) until well past
 * its expiry, and within one request id the sequence must increase, so a broker that holds back
 * a run and delivers it after its cancel gets the run refused. The sequence is per request id
 * because the controller keeps no state between invocations and several controller processes
 * may talk to one agent at once; across requests, the seen-set and the expiry do the work.
 * Pure: the clock is passed in.
 */
import type {ReplayGuard, ReplayVerdict} from './replay-guard.js';

export type GuardedRequest = {id: string; seq: number; nonce: string; iat: number; exp: number};

/** Sequences are the controller's clock in ms × 1000 (source/relay/request-sequence.ts): 16 digits. */
const keyPattern = /^([A-Za-z\d_-]{8,64})\/(\d{1,16})\/([\da-f]{32})$/;

export class RequestGuard {
	readonly #highest = new Map<string, {seq: number; at: number}>();

	constructor(private readonly seen: ReplayGuard) {}

	/** How far a request's issue time may be from the agent's clock. */
	get windowMs(): number {
		return this.seen.keepMs / 2;
	}

	/** Rebuilds the highest sequence per request id from the replay memory (after a restart). */
	restore(now: number): void {
		for (const [key, at] of this.seen.entries(now)) {
			const match = keyPattern.exec(key);
			if (match) {
				this.#raise(match[1]!, Number(match[2]), at);
			}
		}
	}

	check(request: GuardedRequest, now: number): ReplayVerdict {
		if (request.exp <= now) {
			return {ok: false, code: 'stale', reason: `request ${request.id} expired ${Math.round((now - request.exp) / 1000)} s ago`};
		}

		if (request.exp - request.iat > this.windowMs) {
			return {ok: false, code: 'stale', reason: `request ${request.id} claims a lifetime of ${Math.round((request.exp - request.iat) / 1000)} s; at most ${this.windowMs / 1000} s is accepted`};
		}

		this.#forgetBefore(now - this.seen.keepMs);
		const highest = this.#highest.get(request.id);
		if (highest && request.seq <= highest.seq) {
			return {ok: false, code: 'replayed', reason: `request ${request.id} frame ${request.seq} arrived after frame ${highest.seq}: replayed or reordered`};
		}

		const verdict = this.seen.check(`${request.id}/${request.seq}/${request.nonce}`, request.iat, now);
		if (verdict.ok) {
			this.#raise(request.id, request.seq, now);
		}

		return verdict;
	}

	#raise(id: string, seq: number, at: number): void {
		const known = this.#highest.get(id);
		if (!known || seq > known.seq) {
			this.#highest.delete(id);
			this.#highest.set(id, {seq, at});
		}
	}

	#forgetBefore(cutoff: number): void {
		for (const [id, entry] of this.#highest) {
			if (entry.at >= cutoff) {
				break;
			}

			this.#highest.delete(id);
		}
	}
}
