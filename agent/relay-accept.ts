/**
 * Whether this agent acts on a message from the broker, checked in this order (each refusal
 * names what failed): the message's shape; the certificate it carries passes the same checks as
 * a TLS client certificate (chained to the pinned CA key hash, signed by it, role
 * `xi-exec:controller`, client authentication, a pinned serial: peer-check.ts) and is the one
 * the envelope names; the envelope is for this fleet and for this agent; the signature verifies
 * with that certificate's key; the request is not expired and within the clock window, its
 * (request id, sequence, nonce) is new and its sequence above the last one seen for that request
 * id (relay-guard.ts, which remembers it before it is accepted); a run's sealed secret arguments
 * open with this agent's key for this envelope (sealed-args.ts), before any validation of the
 * arguments; the body is a request frame the direct-TLS decoder accepts; and every argument this
 * agent's allowlist marks secret for the run's script came sealed, not in plaintext
 * (relay-secret-check.ts). Pure, apart from the guard's memory port.
 */
import {createHash, X509Certificate, type KeyObject} from 'node:crypto';
import {certificateFacts} from '../source/pki/certificate-facts.js';
import type {ProtocolErrorCode, RequestFrame} from '../source/protocol/frames.js';
import {bytesSigned, decodeRequestEnvelope, openRequest, signedBytes, type RequestBody, type RequestEnvelope} from '../source/protocol/relay-envelope.js';
import {openSealedArgs} from '../source/protocol/sealed-args.js';
import type {SecretArgs} from '../source/protocol/secret-args.js';
import {checkControllerCertificate, type PeerVerdict} from './peer-check.js';
import type {Pins} from './pins.js';
import type {RequestGuard} from './relay-guard.js';
import {unsealedSecretRefusal} from './relay-secret-check.js';

export type AcceptContext = {
	agentName: string;
	pins: Pins;
	/** The fleet CA certificate (DER) this agent holds. */
	caDer: Buffer;
	guard: RequestGuard;
	/** This agent's private key: a run's sealed secret arguments are opened with it. */
	agentKey: KeyObject;
	/** Which arguments of a script this agent's allowlist marks secret (none for a script it does not have). */
	secretArgs: (script: string) => SecretArgs;
	now: number;
};

export type Accepted = {ok: true; frame: RequestFrame; env: RequestEnvelope; hash: string; serial: string};
export type Refused = {ok: false; code: ProtocolErrorCode; reason: string; id?: string; env?: RequestEnvelope; hash?: string};

export function acceptRequest(text: string, context: AcceptContext): Accepted | Refused {
	const opened = openRequest(text);
	if (!opened.ok) {
		return {ok: false, code: 'malformed', reason: opened.reason, ...(opened.id ? {id: opened.id} : {})};
	}

	const {env, sig, cert} = opened.message;
	let bytes: Buffer;
	try {
		bytes = opened.signed ?? signedBytes(env);
	} catch (error) {
		// A lone surrogate (JSON can escape one; RFC 8785 has no bytes for it): nothing to verify, nor to hash for a signed answer.
		return {ok: false, code: 'malformed', reason: `the envelope cannot be canonicalised (${(error as Error).message})`, ...(typeof env.id === 'string' ? {id: env.id} : {})};
	}

	const hash = createHash('sha256').update(bytes).digest('hex');
	const refuse = (code: ProtocolErrorCode, reason: string): Refused => ({ok: false, code, reason, id: env.id, env, hash});
	const {peer, notAfter, key} = checkedCertificate(cert!, context);
	if (!peer.ok) {
		return refuse(peer.code ?? 'forbidden', peer.reason);
	}

	if (notAfter && notAfter.getTime() < context.now) {
		return refuse('forbidden', `the controller certificate expired at ${notAfter.toISOString()}`);
	}

	if (env.serial !== peer.serial) {
		return refuse('forbidden', `the envelope names controller serial ${env.serial}, but carries certificate ${peer.serial}`);
	}

	if (env.fleet !== context.pins.caSha256) {
		return refuse('forbidden', 'the request is for another fleet (its CA key hash is not the pinned one)');
	}

	if (env.agent !== context.agentName) {
		return refuse('forbidden', `the request is for agent ${env.agent}, not ${context.agentName}`);
	}

	if (!key || !bytesSigned(bytes, sig, key)) {
		return refuse('forbidden', 'the signature does not verify with the controller certificate');
	}

	if (Math.abs(context.now - env.iat) > context.guard.windowMs) {
		return refuse('stale', `request ${env.id} was issued ${Math.round((context.now - env.iat) / 1000)} s away from the agent's clock (window ±${context.guard.windowMs / 1000} s)`);
	}

	const fresh = context.guard.check(env, context.now);
	if (!fresh.ok) {
		return refuse(fresh.code, fresh.reason);
	}

	const unsealed = unseal(env, context);
	if (!unsealed.ok) {
		return refuse('forbidden', unsealed.reason);
	}

	const decoded = decodeRequestEnvelope(unsealed.env, env.sealed === undefined ? opened.bytes : undefined);
	if (!decoded.ok) {
		return refuse(decoded.error.code, decoded.error.message);
	}

	const {frame} = decoded;
	const plaintext = frame.type === 'run' ? unsealedSecretRefusal(frame.script, frame.args, env.sealed?.positions ?? [], context.secretArgs(frame.script)) : undefined;
	if (plaintext) {
		return refuse('forbidden', plaintext);
	}

	return {ok: true, frame, env, hash, serial: peer.serial};
}

/** The envelope with a run's sealed arguments opened and put back in their places (a request without any as it is). */
function unseal(env: RequestEnvelope, context: AcceptContext): {ok: true; env: RequestEnvelope} | {ok: false; reason: string} {
	const {sealed, ...rest} = env;
	if (sealed === undefined) {
		return {ok: true, env};
	}

	const body = env.body as {args?: unknown};
	const args = Array.isArray(body.args) && body.args.every(value => typeof value === 'string') ? body.args : [];
	const opened = openSealedArgs(args, sealed, context.agentKey, {id: env.id, agent: context.agentName, nonce: env.nonce});
	return opened.ok ? {ok: true, env: {...rest, body: {...env.body, args: opened.args} as RequestBody}} : opened;
}

/**
 * The controller presents the same certificate on every request, so what this agent concludes
 * from it (peer-check.ts: chained to the pinned CA, signed by it, role, client authentication,
 * pinned serial), its expiry and its public key are worked out once per certificate, CA and pins:
 * the conclusion depends on those bytes alone (the expiry is compared with the clock every time).
 * A few entries: one controller certificate, two during a rotation.
 */
type Checked = {peer: PeerVerdict; notAfter: Date | undefined; key: KeyObject | undefined};
const checked = new Map<string, {caDer: Buffer; pins: string; result: Checked}>();
function checkedCertificate(base64: string, context: AcceptContext): Checked {
	const pins = `${context.pins.caSha256} ${context.pins.controllerSerials.join(' ')}`;
	const known = checked.get(base64);
	if (known && known.pins === pins && known.caDer.equals(context.caDer)) {
		return known.result;
	}

	const der = Buffer.from(base64, 'base64');
	const peer = checkControllerCertificate(der, context.caDer, context.pins);
	const result: Checked = peer.ok ? {peer, notAfter: certificateFacts(der)?.notAfter, key: new X509Certificate(der).publicKey} : {peer, notAfter: undefined, key: undefined};
	if (checked.size >= 8) {
		checked.delete(checked.keys().next().value!);
	}

	checked.set(base64, {caDer: Buffer.from(context.caDer), pins, result});
	return result;
}
