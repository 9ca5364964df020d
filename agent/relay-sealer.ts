/**
 * The agent's replies to one request envelope: each reply names the request's hash, the hash of
 * the reply before it, and the next sequence number, so a signature on a reply covers every reply
 * before it. Only the replies that decide something are signed (relay-envelope.ts): a run's first
 * ack, `started` and output chunks go unsigned, and the controller holds them until the next
 * signed reply. A chain that goes quiet on an unsigned reply would leave them held, so `coverMs`
 * after an unsigned reply with no signed one since, the same reply goes out again, signed
 * (`cover.publish`): live output reaches the controller at most that late.
 *
 * A run's acknowledgement is held back (`holdAck`): a run that sends anything else within
 * `ackHoldMs` (started, output, or its result: a dry run, a refusal) needs none, and it is never
 * sent; a run still silent then is acknowledged, signed. One message fewer per run on every side,
 * and nothing lost: a controller that has heard nothing from a run at half its connect timeout
 * asks for its status (relay-exchange.ts), so a run whose only reply was lost is still recovered.
 * Only a controller whose envelope says so (`probe`) does: relay-requests.ts acknowledges an older
 * one's run at once.
 */
import {sealEnvelope, unsignedReplyTypes, type ReplyBody, type ReplyEnvelope, type Signer} from '../source/protocol/relay-envelope.js';

/** How long an unsigned reply may stand as the last of its chain before its signed copy is sent. */
export const defaultCoverMs = 200;
/** How long a run's acknowledgement is held back, waiting for a reply that makes it unneeded. */
export const ackHoldMs = 250;

export type SealedRequest = {id: string; hash: string; /** The request is a run: its first reply, the ack, may go unsigned. */ run?: boolean};
export type SealingAgent = {name: string; serial: string; signer: () => Signer};
export type Cover = {publish: (text: string) => void; afterMs?: number};

export class ReplySealer {
	#seq = 0;
	#prev: string;
	/** The last reply, while it went out unsigned: its signed copy is what the chain owes. */
	#unsignedHead: ReplyEnvelope | undefined;
	#timer: NodeJS.Timeout | undefined;
	#heldAck: NodeJS.Timeout | undefined;

	constructor(private readonly request: SealedRequest, private readonly agent: SealingAgent, private readonly now: () => number, private readonly cover?: Cover) {
		this.#prev = request.hash;
	}

	/** The reply's message, chained after the last; `sign` signs a reply that could go unsigned. Drops a held acknowledgement. */
	seal(body: ReplyBody, sign = false): string {
		this.dropHeldAck();
		const env: ReplyEnvelope = {
			v: 1,
			kind: 'reply',
			id: this.request.id,
			seq: ++this.#seq,
			agent: this.agent.name,
			serial: this.agent.serial,
			req: this.request.hash,
			prev: this.#prev,
			iat: this.now(),
			body,
		};
		const unsigned = !sign && unsignedReplyTypes.has(body.type) && (body.type !== 'ack' || (env.seq === 1 && this.request.run === true));
		const {text, hash} = sealEnvelope(env, unsigned ? undefined : this.agent.signer());
		this.#prev = hash;
		this.#unsignedHead = unsigned ? env : undefined;
		if (unsigned) {
			this.#coverLater();
		}

		return text;
	}

	/** Where the next reply will sit in the chain: its sequence number and the hash of the reply before it. */
	next(): {seq: number; prev: string} {
		return {seq: this.#seq + 1, prev: this.#prev};
	}

	/** Goes on from a reply already sealed (by this agent before a restart: relay-end-records.ts): the next reply takes `place`. */
	resumeAt(place: {seq: number; prev: string}): void {
		this.#seq = place.seq - 1;
		this.#prev = place.prev;
	}

	/** Drops a held acknowledgement: the run's end comes next. */
	dropHeldAck(): void {
		clearTimeout(this.#heldAck);
		this.#heldAck = undefined;
	}

	/**
	 * A run's acknowledgement (`body`), held back for `holdMs`: dropped if another reply is sealed
	 * first, else sealed then, signed, and handed to `publish`.
	 */
	holdAck(body: ReplyBody, publish: (text: string) => void, holdMs = ackHoldMs): void {
		clearTimeout(this.#heldAck);
		this.#heldAck = setTimeout(() => {
			this.#heldAck = undefined;
			publish(this.seal(body, true));
		}, holdMs);
		this.#heldAck.unref();
	}

	/** The signed copy of the last reply when it went out unsigned (once), else undefined. */
	signHead(): string | undefined {
		const head = this.#unsignedHead;
		this.#unsignedHead = undefined;
		return head && sealEnvelope(head, this.agent.signer()).text;
	}

	#coverLater(): void {
		const {cover} = this;
		if (!cover || this.#timer) {
			return;
		}

		this.#timer = setTimeout(() => {
			this.#timer = undefined;
			const signed = this.signHead();
			if (signed) {
				cover.publish(signed);
			}
		}, cover.afterMs ?? defaultCoverMs);
		this.#timer.unref();
	}
}
