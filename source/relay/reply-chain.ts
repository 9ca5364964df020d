/**
 * The controller's checks on an agent's replies over the broker: the reply is from the agent the
 * request went to (a revoked serial is refused), answers one of the request envelopes this
 * exchange sent (`req`), and comes next in that request's chain (`seq`, `prev`). A signed reply
 * must verify with the key of the certificate the registry holds for the agent; its signature
 * covers every reply before it in the chain (each names the hash of the one before), so the
 * replies an agent sends unsigned (a run's first ack, `started`, output: relay-envelope.ts) are
 * held as `pending` and handed on only together with the signed reply that covers them. An
 * unsigned reply of any other type is refused. An exact copy of a reply already in the chain is
 * dropped and counted, except a signed copy of the pending head (the agent's signature for a
 * chain gone quiet), which releases what it covers; any other break in a chain (a reply
 * missing, reordered, altered) ends the exchange with the gap named, never with a wrong result
 * or output. Pure (node:crypto only).
 */
import type {KeyObject} from 'node:crypto';
import {createHash} from 'node:crypto';
import type {ResponseFrame} from '../protocol/frames.js';
import {bytesSigned, certificateKey, decodeReplyEnvelope, openReply, signedBytes, unsignedReplyTypes, type ReplyEnvelope} from '../protocol/relay-envelope.js';

/** What a request envelope of the exchange was sent as, told back with every reply to it: the request itself, a cancel, a status question. */
export type ChainRole = 'request' | 'cancel' | 'status';

export type ReplyVerdict =
	/** Signed replies, with the unsigned ones before them that the signature covers, in chain order. */
	| {kind: 'frames'; frames: ResponseFrame[]; chain: string; role: ChainRole}
	/** An unsigned reply in its place in the chain, held until a signed one covers it. */
	| {kind: 'pending'; chain: string; role: ChainRole}
	| {kind: 'duplicate'}
	| {kind: 'unrelated'; reason: string}
	| {kind: 'refused'; reason: string};

export type ExpectedAgent = {name: string; serial: string; certificate: string; revoked?: ReadonlySet<string>};

type Chain = {seq: number; prev: string; hashes: string[]; pending: ResponseFrame[]; role: ChainRole};

export class ReplyChains {
	readonly #chains = new Map<string, Chain>();
	readonly #key: KeyObject;
	readonly #revoked: ReadonlySet<string> | undefined;
	duplicates = 0;

	/** `revoked`: the revoked serials (else the agent's own `revoked`), read as the replies come. */
	constructor(private readonly requestId: string, private readonly agent: ExpectedAgent, revoked = agent.revoked) {
		this.#key = certificateKey(agent.certificate);
		this.#revoked = revoked;
	}

	/** A request envelope this exchange sent (as `role`): replies to it are expected from now on. */
	expect(requestHash: string, role: ChainRole = 'request'): void {
		this.#chains.set(requestHash, {seq: 0, prev: requestHash, hashes: [], pending: [], role});
	}

	/** `data`: the bytes `text` was decoded from, when at hand (the signed bytes are copied from them: relay-envelope.ts, bytesAsSent). */
	accept(text: string, data?: Uint8Array): ReplyVerdict {
		const opened = openReply(text, data);
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

		if (this.#revoked?.has(env.serial)) {
			return {kind: 'refused', reason: `the reply names agent certificate serial ${env.serial}, which is revoked`};
		}

		if (env.serial !== this.agent.serial) {
			return {kind: 'refused', reason: `the reply names agent certificate serial ${env.serial}; the registry holds ${this.agent.serial}`};
		}

		// As the agent wrote them when the message is laid out as sealed (bytesAsSent), else canonicalised.
		const bytes = opened.signed ?? canonicalBytes(env);
		if (typeof bytes === 'string') {
			return {kind: 'refused', reason: `the agent's reply is malformed: ${bytes}`};
		}

		if (sig === undefined ? !mayBeUnsigned(env.body.type, env.seq) : !bytesSigned(bytes, sig, this.#key)) {
			return {kind: 'refused', reason: sig === undefined ? `an unsigned ${env.body.type} reply ${env.seq} (only a run's first acknowledgement, started and output may come unsigned)` : `a reply's signature does not verify with agent ${this.agent.name}'s certificate`};
		}

		const chain = this.#chains.get(env.req);
		if (!chain) {
			return {kind: 'unrelated', reason: `a${sig === undefined ? 'n unsigned' : ' signed'} reply to a request envelope this exchange did not send (a replayed request)`};
		}

		const hash = createHash('sha256').update(bytes).digest('hex');
		if (env.seq <= chain.seq && chain.hashes[env.seq - 1] === hash) {
			// A signed copy of a held reply (the agent's signature for a chain that went quiet): it and those before it are the agent's.
			const held = env.seq - (chain.seq - chain.pending.length);
			if (sig !== undefined && held > 0) {
				return this.#release(chain, env.req, held);
			}

			this.duplicates++;
			return {kind: 'duplicate'};
		}

		if (env.seq !== chain.seq + 1 || env.prev !== chain.prev) {
			return {kind: 'refused', reason: `a gap in the agent's replies: expected reply ${chain.seq + 1}, got ${env.seq}${env.seq === chain.seq + 1 ? ' chained to another reply' : ''} (replies were dropped, reordered or altered on the way)`};
		}

		const decoded = decodeReplyEnvelope(env, opened.bytes);
		if (!decoded.ok) {
			return {kind: 'refused', reason: `the agent's reply is malformed: ${decoded.error.message}`};
		}

		if (decoded.frame.id !== this.requestId) {
			return {kind: 'refused', reason: `the reply's frame names request ${decoded.frame.id}, not ${this.requestId}`};
		}

		chain.seq = env.seq;
		chain.prev = hash;
		chain.hashes.push(hash);
		chain.pending.push(decoded.frame);
		return sig === undefined ? {kind: 'pending', chain: env.req, role: chain.role} : this.#release(chain, env.req, chain.pending.length);
	}

	/** The first `count` held replies, which a verified signature covers, handed on in chain order. */
	#release(chain: Chain, requestHash: string, count: number): ReplyVerdict {
		const all = count === chain.pending.length;
		const frames = all ? chain.pending : chain.pending.slice(0, count);
		chain.pending = all ? [] : chain.pending.slice(count);
		return {kind: 'frames', frames, chain: requestHash, role: chain.role};
	}
}

/** A run's first reply (its acknowledgement), `started` and output may come unsigned; nothing else. */
function mayBeUnsigned(type: string, seq: number): boolean {
	return unsignedReplyTypes.has(type) && (type !== 'ack' || seq === 1);
}

/**
 * The signed bytes of an envelope not laid out as sealed, or why there are none: a lone surrogate
 * (an escape such as \ud800 that the broker can put in any reply) has no canonical form, and
 * canonicalize throws on it; thrown out of accept(), the reply was dropped unseen by relay-link's
 * guard instead of ending the exchange as every other malformed reply does.
 */
function canonicalBytes(env: ReplyEnvelope): Buffer | string {
	try {
		return signedBytes(env);
	} catch (error) {
		return `its envelope cannot be canonicalised (${(error as Error).message})`;
	}
}
