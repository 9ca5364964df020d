/**
 * Secret arguments sealed to one agent's key, for the relay: a broker carries the run's envelope
 * and may read all of it (it is signed, not encrypted), so the arguments a script's schema marks
 * secret travel encrypted to the target agent's certificate key and only that agent opens them.
 *
 *   ephemeral   a fresh P-256 key pair per envelope (ECDH with the agent's certificate key)
 *   key         HKDF-SHA256(shared secret, salt = the ephemeral public key (SPKI DER),
 *               info = "xi-exec sealed args v1\n" + the agent's public key (SPKI DER)) → 32 bytes
 *   cipher      AES-256-GCM, a random 12-byte IV, a 16-byte tag
 *   plaintext   the JSON array of the secret values, in the order of `positions`
 *   AAD         "xi-exec sealed args v1\n" + canonical JSON {agent, id, nonce, positions}
 *
 * The AAD binds the blob to the envelope that carries it (request id, target agent and the
 * envelope's own nonce, new for every envelope): moved into another envelope, or to another agent,
 * it no longer opens. In the envelope, each sealed position of the run's `args` holds "" (the
 * values' lengths are not hidden: the ciphertext is as long as the values' JSON). Pure (node:crypto only).
 */
import {createCipheriv, createDecipheriv, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, type KeyObject} from 'node:crypto';
import {canonicalJson} from './canonical-json.js';
import {safeJsonParse} from './safe-json.js';

export type SealedArgs = {
	/** The positions of `args` whose values are sealed (ascending). */
	positions: number[];
	/** The ephemeral public key, SPKI DER, base64. */
	epk: string;
	iv: string;
	/** Ciphertext followed by the 16-byte GCM tag, base64. */
	data: string;
};

/** What the blob is bound to: the envelope that carries it. */
export type SealBinding = {id: string; agent: string; nonce: string};

const label = 'xi-exec sealed args v1\n';
const tagBytes = 16;

function aad(binding: SealBinding, positions: readonly number[]): Buffer {
	return Buffer.from(label + canonicalJson({agent: binding.agent, id: binding.id, nonce: binding.nonce, positions})!);
}

function contentKey(shared: Buffer, ephemeralDer: Buffer, recipient: KeyObject): Buffer {
	const recipientDer = recipient.export({type: 'spki', format: 'der'});
	return Buffer.from(hkdfSync('sha256', shared, ephemeralDer, Buffer.concat([Buffer.from(label), recipientDer]), 32));
}

/**
 * `args` with the values at `positions` replaced by "" and those values sealed to `recipient` (the
 * agent's certificate, PEM, or its public key). Nothing to seal (no position in range): no blob.
 */
export function sealArgs(args: readonly string[], positions: readonly number[], recipient: string | KeyObject, binding: SealBinding): {args: string[]; sealed?: SealedArgs} {
	const inRange = [...new Set(positions)].filter(index => Number.isInteger(index) && index >= 0 && index < args.length).sort((a, b) => a - b);
	if (inRange.length === 0) {
		return {args: [...args]};
	}

	const publicKey = typeof recipient === 'string' ? createPublicKey(recipient) : recipient;
	const ephemeral = generateKeyPairSync('ec', {namedCurve: 'prime256v1'});
	const ephemeralDer = ephemeral.publicKey.export({type: 'spki', format: 'der'});
	const key = contentKey(diffieHellman({privateKey: ephemeral.privateKey, publicKey}), ephemeralDer, publicKey);
	const iv = randomBytes(12);
	const cipher = createCipheriv('aes-256-gcm', key, iv, {authTagLength: tagBytes});
	cipher.setAAD(aad(binding, inRange));
	const data = Buffer.concat([cipher.update(JSON.stringify(inRange.map(index => args[index]))), cipher.final(), cipher.getAuthTag()]);
	return {
		args: args.map((value, index) => (inRange.includes(index) ? '' : value)),
		sealed: {positions: inRange, epk: ephemeralDer.toString('base64'), iv: iv.toString('base64'), data: data.toString('base64')},
	};
}

export type Unsealed = {ok: true; args: string[]} | {ok: false; reason: string};

/**
 * The run's arguments with the sealed values put back, opened with the agent's private key; or
 * why not, in words. Never throws.
 */
export function openSealedArgs(args: readonly string[], sealed: SealedArgs, privateKey: KeyObject, binding: SealBinding): Unsealed {
	const {positions} = sealed;
	if (positions.some(index => index >= args.length || args[index] !== '')) {
		return {ok: false, reason: `sealed argument positions ${positions.join(', ')} do not match the run's ${args.length} arguments (each sealed one must be "")`};
	}

	let plaintext: string;
	try {
		const ephemeralDer = Buffer.from(sealed.epk, 'base64');
		const ephemeral = createPublicKey({key: ephemeralDer, format: 'der', type: 'spki'});
		const recipient = createPublicKey(privateKey);
		const key = contentKey(diffieHellman({privateKey, publicKey: ephemeral}), ephemeralDer, recipient);
		const data = Buffer.from(sealed.data, 'base64');
		const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'), {authTagLength: tagBytes});
		decipher.setAAD(aad(binding, positions));
		decipher.setAuthTag(data.subarray(data.length - tagBytes));
		plaintext = Buffer.concat([decipher.update(data.subarray(0, data.length - tagBytes)), decipher.final()]).toString('utf8');
	} catch {
		return {ok: false, reason: `the sealed arguments of request ${binding.id} do not open with agent ${binding.agent}'s key (sealed for another request or agent, or altered on the way)`};
	}

	const parsed = safeJsonParse(plaintext, 2);
	const values = parsed.ok ? parsed.value : undefined;
	if (!Array.isArray(values) || values.length !== positions.length || !values.every(value => typeof value === 'string')) {
		return {ok: false, reason: `the sealed arguments of request ${binding.id} are not ${positions.length} strings`};
	}

	const opened = [...args];
	for (const [index, position] of positions.entries()) {
		opened[position] = values[index] as string;
	}

	return {ok: true, args: opened};
}

const base64Pattern = /^[A-Za-z\d+/]+={0,2}$/;

/** Whether a `sealed` field from the wire has the right shape (before any key is used). */
export function isSealedArgs(value: unknown): value is SealedArgs {
	if (typeof value !== 'object' || value === null || Array.isArray(value)) {
		return false;
	}

	const {positions, epk, iv, data} = value as Record<string, unknown>;
	const increasing = Array.isArray(positions) && positions.length > 0 && positions.length <= 256
		&& positions.every((index, at) => Number.isSafeInteger(index) && (index as number) >= 0 && (at === 0 || (index as number) > (positions[at - 1] as number)));
	const base64 = (text: unknown, max: number) => typeof text === 'string' && text.length <= max && base64Pattern.test(text);
	return increasing && base64(epk, 256) && base64(iv, 24) && Buffer.from(iv as string, 'base64').length === 12 && base64(data, 256 * 1024) && Buffer.from(data as string, 'base64').length > tagBytes;
}
