/**
 * One exchange with one agent over the relay, as a state machine with no socket and no timer of
 * its own: the link (relay-link.ts) extends it with how request envelopes are sealed and
 * published, how its named timers are armed (each firing calls `timerFired`) and what its end
 * does, and feeds it the replies on the exchange's subject and the caller's cancel: one object per
 * exchange, no layer of closures. It ends the way an exchange over direct TLS does
 * (exchange-end.ts): terminal frame, unreachable, lost, deadline, protocol; the first end wins
 * and every timer is cleared.
 *
 * Each reply is checked against the registry's certificate for the agent and its chain
 * (reply-chain.ts); a reply the agent sent unsigned (a run's first ack, started, output) is acted
 * on only once the signed reply that covers it has arrived. What a reply means depends on the
 * request envelope it answers, by hash:
 * - the request itself: `ack` to a run says the agent accepted it (the deadline, not the connect
 *   timeout, bounds the exchange from the first answer on); a terminal frame ends the exchange;
 *   anything else goes to `onFrame`, which may send a further envelope (a renewal's `certificate`)
 *   or fail the exchange;
 * - a cancel (a second envelope of the same request id): its answer is news; the run's result
 *   still ends the exchange, or, without one within the cancel's grace, the run is `lost`;
 * - a status question, sent when a run has said nothing for `statusAfterMs` (then after twice as
 *   long, up to 5 min), and once at half the connect timeout when nothing at all has come (the
 *   agent holds a run's ack back, relay-sealer.ts: a run that ended at once has only its result to
 *   send, and that may be lost): `ack` found false ends the exchange `lost` at once; found true is
 *   news, and the result the agent sends again must still fit the run's chain (a lost chunk shows
 *   as a gap). A status question goes out after the run (one publisher, in order), so the agent
 *   that does not know the request refuses the run itself if it comes later (its sequence is lower).
 * An unsigned ack is not trusted for anything else: if nothing signed follows, the status question
 * decides. A reply the broker duplicated or that belongs elsewhere is noticed, never acted on.
 */
import type {ResponseFrame} from '../protocol/frames.js';
import {ReplyChains, type ChainRole} from '../relay/reply-chain.js';
import {terminalTypes, type ExchangeEnd, type RequestWithoutEnvelope} from './exchange-end.js';

export type RelayTarget = {name: string; serial: string; certificate: string};

export type RelayExchangeOptions = {
	connectTimeoutMs: number;
	deadlineMs: number;
	onFrame?: (frame: ResponseFrame, reply: (request: RequestWithoutEnvelope) => void, fail: (reason: string) => void) => void;
	revoked?: ReadonlySet<string>;
	cancel?: {signal: AbortSignal; caller: string; graceMs: number};
	/** Told what the relay did on the way that the run should mention (a duplicate dropped, a reply set aside, the status asked for), in words without the agent's name. */
	onNotice?: (notice: string) => void;
	/** How long a run may say nothing before the agent is asked for its status (default 15 s). */
	statusAfterMs?: number;
	/** The positions of a run's arguments that are secret: sealed to the agent's certificate key (the broker never sees them). */
	sealArgs?: readonly number[];
};

export const defaultStatusAfterMs = 15_000;
/** The longest wait between two status questions to a quiet run. */
export const maxStatusAfterMs = 300_000;

export type ExchangeTimer = 'connect' | 'probe' | 'deadline' | 'status' | 'cancel';

export abstract class RelayExchange {
	readonly #chains: ReplyChains;
	#answered = false;
	#settled = false;
	/** A status question went out: a terminal frame after it is noticed as sent again. */
	#statusAsked = false;
	/** The wait armed for the next status question, doubled after each (up to maxStatusAfterMs). */
	#statusAfterMs = 0;

	constructor(readonly target: RelayTarget, protected readonly request: RequestWithoutEnvelope, protected readonly options: RelayExchangeOptions) {
		this.#chains = new ReplyChains(request.id, target, options.revoked);
	}

	/** One request envelope of this exchange, sealed for the agent: the text to publish and the hash its replies name. */
	protected abstract seal(request: RequestWithoutEnvelope): {text: string; hash: string};
	/** Publishes a sealed request on the agent's subject; throws when the broker connection failed (or calls publishFailed later). */
	protected abstract publish(text: string): void;
	/** Arms the named timer, replacing one of that name: when it fires, `timerFired(name)`. */
	protected abstract arm(name: ExchangeTimer, ms: number): void;
	/** Clears every timer: called once, as the exchange ends, before `ended`. */
	protected abstract disarmAll(): void;
	/** Called once, with how the exchange ended. */
	protected abstract ended(end: ExchangeEnd): void;

	get settled(): boolean {
		return this.#settled;
	}

	/** Sends the request; false when it could not be (the exchange has then ended). */
	start(): boolean {
		this.#after('connect', this.options.connectTimeoutMs);
		if (this.request.type === 'run') {
			// The agent holds a run's ack back (a run that ends soon needs none): a run whose only reply was lost is asked for.
			this.#after('probe', this.options.connectTimeoutMs / 2);
		}

		return this.#send(this.request, this.request.type === 'cancel' ? 'cancel' : 'request');
	}

	/** The named timer fired. */
	timerFired(name: ExchangeTimer): void {
		switch (name) {
			case 'connect': {
				if (!this.#answered) {
					this.finish({kind: 'unreachable', reason: `no signed answer from agent ${this.target.name} over the relay within ${this.options.connectTimeoutMs / 1000} s (is it connected to the broker?)`});
				}

				return;
			}

			case 'probe': {
				if (!this.#answered) {
					this.#askStatus(this.options.statusAfterMs ?? defaultStatusAfterMs);
				}

				return;
			}

			case 'deadline': {
				this.finish({kind: 'deadline'});
				return;
			}

			case 'status': {
				this.#askStatus(Math.min(2 * this.#statusAfterMs, maxStatusAfterMs));
				return;
			}

			case 'cancel': {
				this.finish({kind: 'lost', reason: 'the agent did not confirm the cancel over the relay'});
			}
		}
	}

	/** The caller cancelled: a cancel envelope goes out, and the run's end is awaited for the cancel's grace. */
	cancel(): void {
		const {cancel} = this.options;
		if (!cancel || this.#settled) {
			return;
		}

		this.#send({type: 'cancel', id: this.request.id, caller: cancel.caller}, 'cancel');
		this.#after('cancel', cancel.graceMs);
	}

	/** One message on the exchange's reply subject: its text, and the bytes it was decoded from when at hand. */
	receive(text: string, data?: Uint8Array): void {
		if (this.#settled) {
			return;
		}

		const verdict = this.#chains.accept(text, data);
		switch (verdict.kind) {
			case 'duplicate': {
				this.#notice('the broker delivered a reply twice: the copy was dropped');
				return;
			}

			case 'unrelated': {
				this.#notice(`set aside: ${verdict.reason}`);
				return;
			}

			case 'refused': {
				this.finish({kind: 'protocol', reason: `over the relay: ${verdict.reason}`});
				return;
			}

			case 'pending': {
				// In its place in the run's chain, not yet covered by a signature: the run is not quiet, and
				// not unreachable either (its first ack is unsigned: a result lost after it is asked for with
				// a status question, whose signed answer decides). Nothing else is known yet.
				if (verdict.role === 'request') {
					this.#heard();
					this.#quiet();
				}

				return;
			}

			case 'frames': {
				for (const frame of verdict.frames) {
					if (this.#settled) {
						return;
					}

					this.#onFrame(frame, verdict.role);
				}
			}
		}
	}

	finish(end: ExchangeEnd): void {
		if (this.#settled) {
			return;
		}

		this.#settled = true;
		this.disarmAll();
		this.ended(end);
	}

	#onFrame(frame: ResponseFrame, role: ChainRole): void {
		if (role === 'request' && terminalTypes.has(frame.type) && !(frame.type === 'ack' && this.request.type === 'run')) {
			// The end: the timers that hearing from the agent would arm are cleared as it ends.
			if (this.#statusAsked) {
				this.#notice(`the ${frame.type} came after the controller asked for the status: the agent sent it again (lost or late on the broker)`);
			}

			this.#answered = true;
			this.finish({kind: 'terminal', frame});
			return;
		}

		const heardBefore = this.#answered;
		this.#heard();
		if (role === 'status') {
			this.#onStatusAnswer(frame, heardBefore);
			return;
		}

		if (role === 'cancel' && this.request.type !== 'cancel') {
			// A cancel's own chain: its ack (or refusal) is news; the run's result still ends the exchange.
			this.#notice(frame.type === 'ack' ? `cancel ${frame.found ? 'delivered' : 'found no run'}` : `cancel answered ${answerWords(frame)}`);
			return;
		}

		this.#quiet();
		// Over the relay a run is first acknowledged: the agent accepted it and will answer it.
		if (frame.type === 'ack' && this.request.type === 'run') {
			return;
		}

		if (terminalTypes.has(frame.type)) {
			this.finish({kind: 'terminal', frame});
			return;
		}

		this.options.onFrame?.(frame, this.#reply, this.#fail);
	}

	readonly #reply = (next: RequestWithoutEnvelope) => {
		this.#send(next, next.type === 'cancel' ? 'cancel' : 'request');
	};

	readonly #fail = (reason: string) => {
		this.finish({kind: 'protocol', reason});
	};

	#onStatusAnswer(frame: ResponseFrame, heardBefore: boolean): void {
		if (frame.type === 'ack' && !frame.found) {
			this.finish({kind: 'lost', reason: heardBefore
				? `agent ${this.target.name} has no record of request ${this.request.id} (it restarted, or forgot it): its result is lost`
				: `agent ${this.target.name} has no record of request ${this.request.id}: the request was lost on the way (or the agent restarted during it), and it will refuse it from now on`});
			return;
		}

		this.#notice(frame.type === 'ack' ? 'the run went quiet: the controller asked the agent for its status, and the agent knows the request' : `the run went quiet: the controller asked the agent for its status, and it answered ${answerWords(frame)}`);
	}

	/** The agent answered: from now on the deadline, not the connect timeout, bounds the exchange. */
	#heard(): void {
		if (!this.#answered) {
			this.#answered = true;
			this.#after('deadline', this.options.deadlineMs);
		}
	}

	/** A run that has gone quiet is asked for its status, then again after twice as long (up to 5 min), until it ends. */
	#quiet(afterMs = this.options.statusAfterMs ?? defaultStatusAfterMs): void {
		if (this.request.type !== 'run') {
			return;
		}

		this.#statusAfterMs = afterMs;
		this.#after('status', afterMs);
	}

	/** Asks the agent for the run's status, and again after `nextMs` of silence. */
	#askStatus(nextMs: number): void {
		const caller = 'caller' in this.request ? this.request.caller : 'xi-exec';
		this.#statusAsked = true;
		if (this.#send({type: 'status', id: this.request.id, caller}, 'status')) {
			this.#quiet(nextMs);
		}
	}

	#send(next: RequestWithoutEnvelope, role: ChainRole): boolean {
		const {text, hash} = this.seal(next);
		this.#chains.expect(hash, role);
		try {
			this.publish(text);
			return true;
		} catch (error) {
			this.publishFailed(error as Error);
			return false;
		}
	}

	/** A request envelope could not be published (the broker connection failed), now or later in the loop turn it was queued in. */
	publishFailed(error: Error): void {
		this.finish({kind: this.#answered ? 'lost' : 'unreachable', reason: `the broker connection failed: ${error.message}`});
	}

	#after(name: ExchangeTimer, ms: number): void {
		if (!this.#settled) {
			this.arm(name, ms);
		}
	}

	#notice(text: string): void {
		this.options.onNotice?.(text);
	}
}

function answerWords(frame: ResponseFrame): string {
	return `${frame.type}${frame.type === 'error' ? `: ${frame.message}` : ''}`;
}
