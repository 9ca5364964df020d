/**
 * The verification code, and the hashes it is bound to. Pure (node:crypto hashing only).
 *
 * The ceremony, after a TLS 1.3 handshake (agent → controller's pairing listener):
 *
 *   controller → agent   hello:  ceremony id, CA cert, controller cert, controller name, expiry
 *   agent → controller   commit: name, address, tags, CSR (its public key), C = H(T ‖ N_A)
 *   controller → agent   nonce:  N_C
 *   agent → controller   reveal: N_A          (the controller checks H(T ‖ N_A) = C)
 *   both                 code = HKDF-SHA256(EKM, salt = N_C ‖ N_A, info = T) → 6 digits
 *
 * T is the transcript hash: SHA-256 over the canonical JSON of the ceremony id, the hashes of the
 * CA, controller and TLS server certificates, the CA's public-key hash, the agent's key and CSR
 * hashes, both names, the agent's address, broker (when it names one) and tags, and the expiry. EKM is the TLS exporter value
 * of this very connection, so a relay that terminates TLS on both sides holds two different EKMs
 * and the two codes differ. The agent commits to N_A before it sees N_C, so a relay cannot grind
 * its own nonce to make them agree: it gets one guess in 10^6 per ceremony the operator approves.
 */
import {createHash, hkdfSync, timingSafeEqual} from 'node:crypto';
import {canonicalJson} from '../protocol/canonical-json.js';

export const exporterLabel = 'EXPORTER-xi-exec-pairing-v1';
export const nonceBytes = 32;

export type TranscriptFields = {
	ceremony: string;
	caCertificateSha256: string;
	caPublicKeySha256: string;
	controllerCertificateSha256: string;
	serverCertificateSha256: string;
	controllerName: string;
	agentName: string;
	agentAddress: string;
	/** The broker the agent's config names, when it names one (absent: the transcript of a direct-TLS agent, as before). */
	agentRelay?: string;
	agentTags: Record<string, string>;
	agentPublicKeySha256: string;
	csrSha256: string;
	expires: string;
};

export function sha256Hex(data: string | Uint8Array): string {
	return createHash('sha256').update(data).digest('hex');
}

export function transcriptHash(fields: TranscriptFields): Buffer {
	return createHash('sha256').update('xi-exec pairing transcript v1\n').update(canonicalJson(fields)!).digest();
}

export function commitment(transcript: Buffer, agentNonce: Buffer): string {
	return createHash('sha256').update('xi-exec pairing commit v1\n').update(transcript).update(agentNonce).digest('hex');
}

export function deriveCode(keyingMaterial: Buffer, controllerNonce: Buffer, agentNonce: Buffer, transcript: Buffer): string {
	const bytes = Buffer.from(hkdfSync('sha256', keyingMaterial, Buffer.concat([controllerNonce, agentNonce]), transcript, 8));
	return (bytes.readBigUInt64BE(0) % 1_000_000n).toString().padStart(6, '0');
}

/** `482193` as `482 193`, the way both screens show it. */
export function formatCode(code: string): string {
	return `${code.slice(0, 3)} ${code.slice(3)}`;
}

/** What the operator typed, with spaces and dashes ignored, or undefined when it is not 6 digits. */
export function normaliseTypedCode(typed: string): string | undefined {
	const digits = typed.replace(/[\s-]/g, '');
	return /^\d{6}$/.test(digits) ? digits : undefined;
}

export function codesMatch(typed: string, expected: string): boolean {
	const normalised = normaliseTypedCode(typed);
	const a = Buffer.from(normalised ?? '------');
	const b = Buffer.from(expected);
	return a.length === b.length && timingSafeEqual(a, b) && normalised !== undefined;
}

/** The audit trail records this, never the code: it proves which code was used, to whoever already has it. */
export function codeHash(ceremony: string, code: string): string {
	return sha256Hex(`${ceremony}:${code}`);
}
