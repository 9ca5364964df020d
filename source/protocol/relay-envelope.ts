/**
 * The relay's signed envelope: over a message broker (NATS) nothing about a frame can be taken
 * from the connection it came on, so each frame carries who sent it, to whom, when, and a
 * signature over all of it. The broker is transport and never trust: a frame it replays,
 * reorders, delays, duplicates or forges is refused by the checks on either side
 * (agent/relay-accept.ts, source/relay/reply-chain.ts).
 *
 * A message on the broker is one JSON object `{env, sig?, cert?}`:
 *
 *   env   the envelope (below); `sig` signs `xi-exec relay v1\n` + its canonical JSON (RFC 8785)
 *   sig   ECDSA P-256 / SHA-256 over those bytes, DER, base64 (left out of a reply a later signed
 *         reply covers: see below)
 *   cert  (requests only) the controller's certificate, DER, base64: the agent checks it against
 *         its pins exactly as it checks a TLS client certificate (agent/peer-check.ts)
 *
 * A request envelope: version, kind, request id, sequence (increasing within a request id — the
 * run, then its cancel or status question — across controller processes too: the clock in ms ×
 * 1000, source/relay/request-sequence.ts), target agent, fleet (the CA public-key hash it is meant for),
 * the controller certificate's serial, issued-at and expiry (ms), a random nonce, the
 * controller audit log's signed head, a run's secret arguments sealed to the agent's key
 * (sealed-args.ts: the broker can read everything else), on a run `probe: true` when the controller
 * asks for the status of a run it has heard nothing from (so the agent may hold the run's ack back:
 * agent/relay-sealer.ts; a controller from before that sends none, and gets its ack at once), and
 * the body: a request frame (frames.ts) without the fields the envelope carries (v, id, msg = nonce,
 * ts = issued-at).
 *
 * A reply envelope: version, kind, request id, sequence (from 1), the agent, its certificate's
 * serial, `req` (the hash of the request envelope it answers), `prev` (the hash of the reply
 * before it, or `req` for the first), issued-at, and the body: a response frame without `v`.
 * The chain makes a signature cover every reply before it, so only the replies that decide
 * something are signed: a terminal frame (result, error, description, a cancel's or a status
 * question's ack, renewed, pinned, unpaired). A run's first ack, `started` and output chunks go
 * without `sig`; the controller acts on none of them until a signed reply further down the chain
 * covers them (reply-chain.ts), and an agent whose chain has gone quiet on an unsigned reply
 * sends that same reply again, signed (relay-sealer.ts). A dropped, reordered, duplicated or
 * altered reply shows as a gap or a failed signature. Pure (node:crypto only).
 */
import {createHash, createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject} from 'node:crypto';
import {canonicalJson} from './canonical-json.js';
import {certificateKey, pemToDer} from './relay-keys.js';
import {limits, protocolVersion, requestIdPattern, type RequestFrame, type ResponseFrame, type SignedHead} from './frames.js';
import {decodeRequest, decodeRequestFields} from './decode-request.js';
import {decodeResponse, decodeResponseFields} from './decode-response.js';
import type {Decoded} from './decode-frame.js';
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
	/** On a run: the controller asks for its status when it hears nothing (source/dispatch/relay-exchange.ts), so its ack may be held back. */
	probe?: true;
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
/** A reply as it arrives: `sig` is absent from a reply that a later signed one covers. */
export type ReplyMessage = {env: ReplyEnvelope; sig?: string};

/** The reply frames an agent sends without a signature: the chain's next signed reply covers them. */
export const unsignedReplyTypes: ReadonlySet<string> = new Set(['started', 'stdout', 'stderr', 'ack']);

const signedPrefix = 'xi-exec relay v1\n';

function canonicalText(env: AnyEnvelope): string {
	const text = canonicalJson(env);
	if (text === undefined) {
		throw new TypeError('envelope cannot be canonicalised');
	}

	return text;
}

/** The bytes a signature covers. */
export function signedBytes(env: AnyEnvelope): Buffer {
	return Buffer.from(`${signedPrefix}${canonicalText(env)}`);
}

const sentLayoutStart = '{"env":';
/** A JSON escape of a UTF-16 surrogate (canonical JSON never writes one: it has no bytes for a lone one). */
const surrogateEscape = /\\u[dD][89a-fA-F]/;
const signedPrefixBytes = Buffer.from(signedPrefix);

/**
 * The bytes a message's signature covers, read from the message as it arrived when it is laid out
 * as sealEnvelope writes it (`{"env":ENV`, then `,"sig":"…"` and `,"cert":"…"` as parsed, then
 * `}`): `ENV` is the envelope's canonical JSON as its signer wrote it, so the receiver does not
 * canonicalise the parsed envelope again. Sound because only these bytes are checked: a
 * signature (or, for an unsigned reply, the hash a later signed reply covers) holds only for bytes
 * its signer wrote, one canonical JSON object, which is then the very `env` the message parsed
 * to; any other bytes there fail that check (stricter than a canonicalisation, never looser).
 * Undefined for another layout, or a text with a surrogate escape (a lone surrogate must be
 * refused as uncanonicalisable): the caller canonicalises the parsed envelope (signedBytes).
 *
 * `data`: the bytes `text` was decoded from (UTF-8, as a subscription delivers them). When the
 * decoding lost nothing — no U+FFFD in the text (which an invalid sequence becomes; a text that
 * holds one, sent or made, takes the encoding route below) and no byte-order mark before the
 * `{` (which the decoder drops) — the text's UTF-8 is `data` itself, so the envelope's bytes are
 * copied from `data` instead of the text being sliced and encoded again: the same bytes.
 */
export function bytesAsSent(text: string, sig: string | undefined, cert: string | undefined, data?: Uint8Array): Buffer | undefined {
	if (!text.startsWith(sentLayoutStart) || surrogateEscape.test(text)) {
		return undefined;
	}

	const tail = `${sig === undefined ? '' : `,"sig":"${sig}"`}${cert === undefined ? '' : `,"cert":"${cert}"`}}`;
	if (!text.endsWith(tail)) {
		return undefined;
	}

	if (data?.[0] !== 0x7B || text.includes('\uFFFD')) {
		return Buffer.from(`${signedPrefix}${text.slice(sentLayoutStart.length, text.length - tail.length)}`);
	}

	// `tail` is ASCII (base64 only, checked by openMessage), so its length in bytes is its length in characters.
	const envelope = data.subarray(sentLayoutStart.length, data.length - tail.length);
	const bytes = Buffer.allocUnsafe(signedPrefixBytes.length + envelope.length);
	signedPrefixBytes.copy(bytes, 0);
	bytes.set(envelope, signedPrefixBytes.length);
	return bytes;
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


/** Random bytes for nonces, drawn 4 KiB at a time: one call into the CSPRNG per 256 nonces, not per nonce (about 2% of a fan-out's controller CPU). */
let noncePool = Buffer.alloc(0);
let nonceOffset = 0;
export function newNonce(): string {
	if (nonceOffset + 16 > noncePool.length) {
		noncePool = randomBytes(4096);
		nonceOffset = 0;
	}

	nonceOffset += 16;
	return noncePool.toString('hex', nonceOffset - 16, nonceOffset);
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
	return sealEnvelope(env, signer).text;
}

/**
 * One broker message and the envelope's hash (envelopeHash), from one canonicalisation: the
 * message holds the envelope as those very canonical bytes (canonical JSON is JSON), so it is
 * not written a second time. Without a signer, the message has no `sig`: a reply that a later
 * signed reply in its chain covers.
 */
export function sealEnvelope(env: RequestEnvelope | ReplyEnvelope | PresenceEnvelope, signer?: Signer): {text: string; hash: string} {
	const canonical = canonicalText(env);
	// signedBytes(env), from the canonical text kept (not decoded back from the bytes).
	const bytes = Buffer.from(`${signedPrefix}${canonical}`);
	const hash = createHash('sha256').update(bytes).digest('hex');
	if (!signer) {
		return {text: `{"env":${canonical}}`, hash};
	}

	// Base64 needs no escaping in a JSON string.
	const sig = sign('sha256', bytes, signer.key).toString('base64');
	return {text: `{"env":${canonical},"sig":"${sig}"${signer.certificateDer ? `,"cert":"${certificateBase64(signer)}"` : ''}}`, hash};
}

/** A signer's certificate in base64, made once per signer (a link's, an agent's): the same text in every request it seals. */
const certificateTexts = new WeakMap<Signer, string>();
function certificateBase64(signer: Signer): string {
	let text = certificateTexts.get(signer);
	if (text === undefined) {
		text = signer.certificateDer!.toString('base64');
		certificateTexts.set(signer, text);
	}

	return text;
}

/** Whether `sig` signs these bytes (signedBytes) with this key; never throws. */
export function bytesSigned(bytes: Buffer, sig: string, key: KeyObject): boolean {
	try {
		return verify('sha256', bytes, key, Buffer.from(sig, 'base64'));
	} catch {
		return false;
	}
}

export function signatureValid(env: AnyEnvelope, sig: string, publicKey: KeyObject | Buffer | string): boolean {
	try {
		const key: KeyObject = typeof publicKey === 'string' ? certificateKey(publicKey) : Buffer.isBuffer(publicKey) ? createPublicKey({key: publicKey, format: 'der', type: 'spki'}) : publicKey;
		return bytesSigned(signedBytes(env), sig, key);
	} catch {
		return false;
	}
}

export {certificateKey, certificateKeyCacheSize, pemToDer} from './relay-keys.js';

/** A message's shape checked; `bytes`: its size in UTF-8, which bounds the frame it carries (decodeRequestEnvelope). */
export type Opened<E> = {ok: true; message: SignedMessage<E>; bytes: number; /** bytesAsSent: the signed bytes as they arrived, when laid out as sealed. */ signed?: Buffer} | {ok: false; reason: string; id?: string};

const hexPattern = /^[\da-f]+$/;
const base64Pattern = /^[A-Za-z\d+/]+={0,2}$/;
const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
const isTime = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
const isHex = (value: unknown, length?: number): value is string => typeof value === 'string' && hexPattern.test(value) && (length === undefined ? value.length <= 40 : value.length === length);
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The shape of a message, before any trust: JSON, size, the envelope's fields. Never throws. `sig` may be absent only when `unsigned` allows it. */
function openMessage(text: string, maxBytes: number, unsigned = false): {ok: true; env: Record<string, unknown>; sig?: string; cert?: string; bytes: number} | {ok: false; reason: string; id?: string} {
	const bytes = Buffer.byteLength(text);
	if (bytes > maxBytes) {
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
	if (!(sig === undefined && unsigned) && (typeof sig !== 'string' || !base64Pattern.test(sig) || sig.length > 256)) {
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

	return {ok: true, env, ...(sig === undefined ? {} : {sig}), ...(cert === undefined ? {} : {cert}), bytes};
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

	if (env['probe'] !== undefined && !(env['probe'] === true && (env['body'] as Record<string, unknown>)['type'] === 'run')) {
		return fail('field "probe" must be true, and only on a run');
	}

	const signed = bytesAsSent(text, opened.sig, opened.cert);
	return {ok: true, message: {env: env as RequestEnvelope, sig: opened.sig!, cert: opened.cert}, bytes: opened.bytes, ...(signed ? {signed} : {})};
}

/** A reply message's shape (with or without `sig`); `data`: the bytes the text was decoded from, if at hand (bytesAsSent). */
export function openReply(text: string, data?: Uint8Array): {ok: true; message: ReplyMessage; bytes: number; signed?: Buffer} | {ok: false; reason: string; id?: string} {
	const opened = openMessage(text, limits.responseFrameBytes + relayLimits.envelopeOverheadBytes, true);
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

	const signed = bytesAsSent(text, opened.sig, opened.cert, data);
	return {ok: true, message: {env: env as ReplyEnvelope, ...(opened.sig === undefined ? {} : {sig: opened.sig})}, bytes: opened.bytes, ...(signed ? {signed} : {})};
}

/** The request frame an envelope carries: the fields of the line the direct-TLS decoder reads. */
function requestFields(env: RequestEnvelope): Record<string, unknown> {
	const body = env.head && env.body.type === 'run' ? {...env.body, controllerHead: env.head} : env.body;
	return {...body, v: protocolVersion, id: env.id, msg: env.nonce, ts: env.iat};
}

/** The request frame an envelope carries, as the line the direct-TLS decoder reads. */
export function requestLine(env: RequestEnvelope): string {
	return JSON.stringify(requestFields(env));
}

/** The response frame a reply carries, as the line the direct-TLS decoder reads. */
export function replyLine(env: ReplyEnvelope): string {
	return JSON.stringify({...env.body, v: protocolVersion});
}

/**
 * The request frame an envelope carries, decoded with the direct-TLS decoder's checks. The line
 * (requestLine) holds a part of the message's bytes, each value written as the message writes it
 * or shorter: when the message (`messageBytes`, as opened) fits a request frame, so does the line,
 * and the envelope's body, parsed once with the message, is decoded as it is (the same value a
 * parse of the line would give). A larger message, or an envelope whose sealed arguments were
 * opened into it (`messageBytes` undefined: they may be longer than their sealed form), has its
 * line made and decoded whole, with the frame's size limit.
 */
export function decodeRequestEnvelope(env: RequestEnvelope, messageBytes: number | undefined): Decoded<RequestFrame> {
	return messageBytes !== undefined && messageBytes <= limits.requestFrameBytes ? decodeRequestFields(requestFields(env)) : decodeRequest(requestLine(env));
}

/**
 * The response frame a reply carries, decoded as decodeRequestEnvelope decodes a request's (without
 * sealed arguments). The body, parsed with the message and not shared, is decoded in place: it is
 * given the frame's `v` (as a copy `{...body, v}` would have it, in the same key order) rather than
 * copied, so the envelope's body is the frame's fields afterwards.
 */
export function decodeReplyEnvelope(env: ReplyEnvelope, messageBytes: number): Decoded<ResponseFrame> {
	if (messageBytes > limits.responseFrameBytes) {
		return decodeResponse(replyLine(env));
	}

	(env.body as Record<string, unknown>)['v'] = protocolVersion;
	return decodeResponseFields(env.body);
}
