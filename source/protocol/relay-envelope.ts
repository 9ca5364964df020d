/**
 * The relay's signed envelope: over a message broker (NATS) nothing about a frame can be taken
 * from the connection it came on, so each frame carries who sent it, to whom, when, and a
 * signature over all of it. The broker is transport and never trust: a frame it replays,
 * reorders, delays, duplicates or forges is refused by the checks on either side
 * (agent/relay-accept.ts, source/relay/reply-chain.ts).
 *
 * A message on the broker is one JSON object `{env, sig, cert?}`:
 *
 *   env   the envelope (below); `sig` signs `xi-exec relay v1\n` + its canonical JSON (RFC 8785)
 *   sig   ECDSA P-256 / SHA-256 over those bytes, DER, base64
 *   cert  (requests only) the controller's certificate, DER, base64: the agent checks it against
 *         its pins exactly as it checks a TLS client certificate (agent/peer-check.ts)
 *
 * A request envelope: version, kind, request id, sequence (increasing within a request id — the
 * run, then its cancel or status question — across controller processes too: the clock in ms ×
 * 1000, source/relay/request-sequence.ts), target agent, fleet (the CA public-key hash it is meant for),
 * the controller certificate's serial, issued-at and expiry (ms), a random nonce, the
 * controller audit log's signed head, a run's secret arguments sealed to the agent's key
 * (sealed-args.ts: the broker can read everything else), and the body: a request frame
 * (frames.ts) without the fields the envelope carries (v, id, msg = nonce, ts = issued-at).
 *
 * A reply envelope: version, kind, request id, sequence (from 1), the agent, its certificate's
 * serial, `req` (the hash of the request envelope it answers), `prev` (the hash of the reply
 * before it, or `req` for the first), issued-at, and the body: a response frame without `v`.
 * Every reply is signed, and the chain makes the result's signature cover every chunk before
 * it: a dropped, reordered or duplicated chunk shows as a gap. Pure (node:crypto only).
 */
import {createHash, createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject} from 'node:crypto';
import canonicalize from 'canonicalize';
import {limits, protocolVersion, requestIdPattern, type RequestFrame, type ResponseFrame, type SignedHead} from './frames.js';
import {safeJsonParse} from './safe-json.js';
import {isSealedArgs, type SealedArgs} from './sealed-args.js';
import {isAgentName} from './text-checks.js';

export const relayEnvelopeVersion = 1 as const;

/** How long a request envelope is valid by default, and at most (the agent's replay memory outlives it). */
export const relayLimits = {
	defaultLifetimeMs: 60_000,
	maxLifetimeMs: limits.clockSkewMs,
	/** What a message may add to a frame: envelope fields, a signature, a certificate. */
	envelopeOverheadBytes: 8 * 1024,
} as const;

export type RequestBody = RequestFrame extends infer F ? (F extends RequestFrame ? Omit<F, 'v' | 'id' | 'msg' | 'ts'> : never) : never;
export type ReplyBody = ResponseFrame extends infer F ? (F extends ResponseFrame ? Omit<F, 'v'> : never) : never;

export type RequestEnvelope = {
	v: typeof relayEnvelopeVersion;
	kind: 'request';
	id: string;
	seq: number;
	agent: string;
	fleet: string;
	serial: string;
	iat: number;
	exp: number;
	nonce: string;
	head?: SignedHead;
	/** A run's secret arguments, sealed to the target agent's key (sealed-args.ts); their places in `body.args` hold "". */
	sealed?: SealedArgs;
	body: RequestBody;
};

export type ReplyEnvelope = {
	v: typeof relayEnvelopeVersion;
	kind: 'reply';
	id: string;
	seq: number;
	agent: string;
	serial: string;
	req: string;
	prev: string;
	iat: number;
	body: ReplyBody;
};

/** An agent's presence heartbeat (relay-presence.ts): signed like a reply, on the agent's own presence subject. */
export type PresenceEnvelope = {
	v: typeof relayEnvelopeVersion;
	kind: 'presence';
	agent: string;
	serial: string;
	iat: number;
};

type AnyEnvelope = RequestEnvelope | ReplyEnvelope | PresenceEnvelope;

export type SignedMessage<E> = {env: E; sig: string; cert?: string};

/** The bytes a signature covers. */
export function signedBytes(env: AnyEnvelope): Buffer {
	const text = canonicalize(env);
	if (text === undefined) {
		throw new TypeError('envelope cannot be canonicalised');
	}

	return Buffer.from(`xi-exec relay v1\n${text}`);
}

/** The hash that names an envelope in a chain (`req`, `prev`): SHA-256 of its signed bytes, hex. */
export function envelopeHash(env: RequestEnvelope | ReplyEnvelope): string {
	return createHash('sha256').update(signedBytes(env)).digest('hex');
}

export type Signer = {key: KeyObject; certificateDer?: Buffer};

export function signerFromPem(keyPem: string, certificatePem?: string): Signer {
	const key = createPrivateKey(keyPem);
	return certificatePem === undefined ? {key} : {key, certificateDer: pemToDer(certificatePem)};
}

export function pemToDer(pem: string): Buffer {
	const base64 = pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
	return Buffer.from(base64, 'base64');
}

export function newNonce(): string {
	return randomBytes(16).toString('hex');
}

export function requestEnvelope(fields: Omit<RequestEnvelope, 'v' | 'kind' | 'exp' | 'nonce'> & {exp?: number; nonce?: string}): RequestEnvelope {
	return {
		v: relayEnvelopeVersion,
		kind: 'request',
		...fields,
		exp: fields.exp ?? fields.iat + relayLimits.defaultLifetimeMs,
		nonce: fields.nonce ?? newNonce(),
	};
}

/** One broker message: the envelope, its signature and (for requests) the signer's certificate. */
export function sealMessage(env: AnyEnvelope, signer: Signer): string {
	const sig = sign('sha256', signedBytes(env), signer.key).toString('base64');
	return JSON.stringify({env, sig, ...(signer.certificateDer ? {cert: signer.certificateDer.toString('base64')} : {})});
}

export function signatureValid(env: AnyEnvelope, sig: string, publicKey: KeyObject | Buffer | string): boolean {
	try {
		const key = publicKey instanceof Buffer || typeof publicKey === 'string' ? createPublicKey(publicKey instanceof Buffer ? {key: publicKey, format: 'der', type: 'spki'} : publicKey) : publicKey;
		return verify('sha256', signedBytes(env), key, Buffer.from(sig, 'base64'));
	} catch {
		return false;
	}
}

export type Opened<E> = {ok: true; message: SignedMessage<E>} | {ok: false; reason: string; id?: string};

const hexPattern = /^[\da-f]+$/;
const base64Pattern = /^[A-Za-z\d+/]+={0,2}$/;
const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
const isTime = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
const isHex = (value: unknown, length?: number): value is string => typeof value === 'string' && hexPattern.test(value) && (length === undefined ? value.length <= 40 : value.length === length);
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The shape of a message, before any trust: JSON, size, the envelope's fields. Never throws. */
function openMessage(text: string, maxBytes: number): {ok: true; env: Record<string, unknown>; sig: string; cert?: string} | {ok: false; reason: string; id?: string} {
	if (Buffer.byteLength(text) > maxBytes) {
		return {ok: false, reason: `message is larger than ${maxBytes} bytes`};
	}

	const parsed = safeJsonParse(text, limits.depth);
	if (!parsed.ok) {
		return {ok: false, reason: `message is ${parsed.reason}`};
	}

	if (!isObject(parsed.value)) {
		return {ok: false, reason: 'message must be a JSON object {env, sig}'};
	}

	const {env, sig, cert} = parsed.value;
	if (!isObject(env)) {
		return {ok: false, reason: 'field "env" must be an object'};
	}

	const id = typeof env['id'] === 'string' && requestIdPattern.test(env['id']) ? env['id'] : undefined;
	const fail = (reason: string) => ({ok: false as const, reason, ...(id ? {id} : {})});
	if (typeof sig !== 'string' || !base64Pattern.test(sig) || sig.length > 256) {
		return fail('field "sig" must be a base64 signature');
	}

	if (cert !== undefined && (typeof cert !== 'string' || !base64Pattern.test(cert))) {
		return fail('field "cert" must be a base64 DER certificate');
	}

	if (env['v'] !== relayEnvelopeVersion) {
		return fail(`envelope version ${JSON.stringify(env['v'])} is not supported (this side speaks ${relayEnvelopeVersion})`);
	}

	if (!id) {
		return fail('field "id" must be a request id');
	}

	if (!isCount(env['seq'])) {
		return fail('field "seq" must be a positive integer');
	}

	if (typeof env['agent'] !== 'string' || !isAgentName(env['agent'])) {
		return fail('field "agent" must be an agent name');
	}

	if (!isHex(env['serial'])) {
		return fail('field "serial" must be a certificate serial in hex');
	}

	if (!isTime(env['iat'])) {
		return fail('field "iat" must be a time in milliseconds');
	}

	if (!isObject(env['body'])) {
		return fail('field "body" must be an object');
	}

	return {ok: true, env, sig, ...(cert === undefined ? {} : {cert: cert as string})};
}

/** A request message's shape (nothing about its signer is trusted yet). */
export function openRequest(text: string): Opened<RequestEnvelope> {
	const opened = openMessage(text, limits.requestFrameBytes + relayLimits.envelopeOverheadBytes);
	if (!opened.ok) {
		return opened;
	}

	const {env} = opened;
	const fail = (reason: string) => ({ok: false as const, reason, id: env['id'] as string});
	if (env['kind'] !== 'request') {
		return fail('field "kind" must be "request"');
	}

	if (!isHex(env['fleet'], 64)) {
		return fail('field "fleet" must be the fleet CA\'s public-key hash');
	}

	if (!isTime(env['exp'])) {
		return fail('field "exp" must be a time in milliseconds');
	}

	if (typeof env['nonce'] !== 'string' || !/^[\da-f]{32}$/.test(env['nonce'])) {
		return fail('field "nonce" must be 32 hex digits');
	}

	if (opened.cert === undefined) {
		return fail('a request must carry the controller certificate in "cert"');
	}

	const {head} = env;
	if (head !== undefined && !(isObject(head) && typeof head['log'] === 'string' && typeof head['hash'] === 'string' && typeof head['signature'] === 'string' && typeof head['keyId'] === 'string' && isCount(head['seq']))) {
		return fail('field "head" must be a signed head {log, seq, hash, signature, keyId}');
	}

	if (env['sealed'] !== undefined && !(isSealedArgs(env['sealed']) && (env['body'] as Record<string, unknown>)['type'] === 'run')) {
		return fail('field "sealed" must be a run\'s sealed arguments {positions, epk, iv, data}');
	}

	return {ok: true, message: {env: env as RequestEnvelope, sig: opened.sig, cert: opened.cert}};
}

/** A reply message's shape. */
export function openReply(text: string): Opened<ReplyEnvelope> {
	const opened = openMessage(text, limits.responseFrameBytes + relayLimits.envelopeOverheadBytes);
	if (!opened.ok) {
		return opened;
	}

	const {env} = opened;
	const fail = (reason: string) => ({ok: false as const, reason, id: env['id'] as string});
	if (env['kind'] !== 'reply') {
		return fail('field "kind" must be "reply"');
	}

	if (!isHex(env['req'], 64) || !isHex(env['prev'], 64)) {
		return fail('fields "req" and "prev" must be SHA-256 hashes in hex');
	}

	return {ok: true, message: {env: env as ReplyEnvelope, sig: opened.sig}};
}

/** The request frame an envelope carries, as the line the direct-TLS decoder reads. */
export function requestLine(env: RequestEnvelope): string {
	const body = env.head && env.body.type === 'run' ? {...env.body, controllerHead: env.head} : env.body;
	return JSON.stringify({...body, v: protocolVersion, id: env.id, msg: env.nonce, ts: env.iat});
}

/** The response frame a reply carries, as the line the direct-TLS decoder reads. */
export function replyLine(env: ReplyEnvelope): string {
	return JSON.stringify({...env.body, v: protocolVersion});
}
