/**
 * The agent's signed replies to one request envelope: each reply names the request's hash, the
 * hash of the reply before it, and the next sequence number, and is signed with the agent's key,
 * so the result's signature covers every output chunk sent before it.
 */
import {envelopeHash, sealMessage, type ReplyBody, type ReplyEnvelope, type Signer} from '../source/protocol/relay-envelope.js';

export class ReplySealer {
	#seq = 0;
	#prev: string;

	constructor(private readonly request: {id: string; hash: string}, private readonly agent: {name: string; serial: string; signer: () => Signer}, private readonly now: () => number) {
		this.#prev = request.hash;
	}

	seal(body: ReplyBody): string {
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
		this.#prev = envelopeHash(env);
		return sealMessage(env, this.agent.signer());
	}
}
