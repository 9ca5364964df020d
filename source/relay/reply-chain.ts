/**
 * The controller's checks on an agent's replies over the broker: the reply is from the agent the
 * request went to, signed with the key of the certificate the registry holds for it (a revoked
 * serial is refused), answers one of the request envelopes this exchange sent (`req`), and comes
 * next in that request's chain (`seq`, `prev`). An exact copy of a reply already accepted is
 * dropped and counted; any other break in a chain (a reply missing, reordered, altered) ends the
 * exchange with the gap named, never with a wrong result. Pure (node:crypto only).
 */
import {createPublicKey, type KeyObject} from 'node:crypto';
import {decodeResponse} from '../protocol/decode.js';
import type {ResponseFrame} from '../protocol/frames.js';
import {envelopeHash, openReply, replyLine, signatureValid} from '../protocol/relay-envelope.js';

export type ReplyVerdict =
	| {kind: 'frame'; frame: ResponseFrame; chain: string}
	| {kind: 'duplicate'}
	| {kind: 'unrelated'; reason: string}
	| {kind: 'refused'; reason: string};

export type ExpectedAgent = {name: string; serial: string; certificate: string; revoked?: ReadonlySet<string>};

type Chain = {seq: number; prev: string; hashes: string[]};

export class ReplyChains {
	readonly #chains = new Map<string, Chain>();
	readonly #key: KeyObject;
	duplicates = 0;

	constructor(private readonly requestId: string, private readonly agent: ExpectedAgent) {
		this.#key = createPublicKey(agent.certificate);
	}

	/** A request envelope this exchange sent: replies to it are expected from now on. */
	expect(requestHash: string): void {
		this.#chains.set(requestHash, {seq: 0, prev: requestHash, hashes: []});
	}

	accept(text: string): ReplyVerdict {
		const opened = openReply(text);
		if (!opened.ok) {
			return {kind: 'refused', reason: `the agent's reply is malformed: ${opened.reason}`};
		}

		const {env, sig} = opened.message;
		if (env.id !== this.requestId) {
			return {kind: 'unrelated', reason: `a reply to request ${env.id}, not ${this.requestId}`};
		}

		if (env.agent !== this.agent.name) {
			return {kind: 'refused', reason: `a reply signed as agent ${env.agent} arrived for agent ${this.agent.name}`};
		}

		if (this.agent.revoked?.has(env.serial)) {
			return {kind: 'refused', reason: `the reply names agent certificate serial ${env.serial}, which is revoked`};
		}

		if (env.serial !== this.agent.serial) {
			return {kind: 'refused', reason: `the reply names agent certificate serial ${env.serial}; the registry holds ${this.agent.serial}`};
		}

		if (!signatureValid(env, sig, this.#key)) {
			return {kind: 'refused', reason: `a reply's signature does not verify with agent ${this.agent.name}'s certificate`};
		}

		const chain = this.#chains.get(env.req);
		if (!chain) {
			return {kind: 'unrelated', reason: 'a signed reply to a request envelope this exchange did not send (a replayed request)'};
		}

		const hash = envelopeHash(env);
		if (env.seq <= chain.seq && chain.hashes[env.seq - 1] === hash) {
			this.duplicates++;
			return {kind: 'duplicate'};
		}

		if (env.seq !== chain.seq + 1 || env.prev !== chain.prev) {
			return {kind: 'refused', reason: `a gap in the agent's replies: expected reply ${chain.seq + 1}, got ${env.seq}${env.seq === chain.seq + 1 ? ' chained to another reply' : ''} (replies were dropped, reordered or altered on the way)`};
		}

		const decoded = decodeResponse(replyLine(env));
		if (!decoded.ok) {
			return {kind: 'refused', reason: `the agent's reply is malformed: ${decoded.error.message}`};
		}

		if (decoded.frame.id !== this.requestId) {
			return {kind: 'refused', reason: `the reply's frame names request ${decoded.frame.id}, not ${this.requestId}`};
		}

		chain.seq = env.seq;
		chain.prev = hash;
		chain.hashes.push(hash);
		return {kind: 'frame', frame: decoded.frame, chain: env.req};
	}
}
