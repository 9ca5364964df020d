/**
 * The public keys of the certificates a relay side verifies signatures with (an agent's, as the
 * controller's registry holds it), made once per process: split from relay-envelope.ts.
 */
import {createPublicKey, type KeyObject} from 'node:crypto';

export function pemToDer(pem: string): Buffer {
	const base64 = pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
	return Buffer.from(base64, 'base64');
}

/**
 * The public key of a PEM certificate (or a PEM public key), parsed once per process: making a
 * KeyObject costs about as much as verifying a signature with it (0.5–1.5 ms here under load),
 * and a controller checks the same agents' replies run after run (a describe, then the run; every
 * run of a long-lived `serve`). Keyed by the exact PEM text, so nothing is kept beyond what those
 * bytes say; the oldest entries go past `certificateKeyCacheSize`. Throws as createPublicKey does.
 */
export const certificateKeyCacheSize = 50_000;
const certificateKeys = new Map<string, KeyObject>();
export function certificateKey(pem: string): KeyObject {
	let key = certificateKeys.get(pem);
	if (!key) {
		key = p256Key(pem) ?? createPublicKey(pem);
		if (certificateKeys.size >= certificateKeyCacheSize) {
			certificateKeys.delete(certificateKeys.keys().next().value!);
		}

		certificateKeys.set(pem, key);
	}

	return key;
}

/** The DER that opens a P-256 SubjectPublicKeyInfo with an uncompressed point: id-ecPublicKey, prime256v1, a 66-byte BIT STRING, 0x04. */
const p256SpkiPrefix = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d03010703420004', 'hex');

/**
 * The P-256 public key of a PEM certificate, made from its point as a JWK: OpenSSL 3 decodes a
 * certificate or an SPKI into a key about 2.5 times slower (160 against 60 µs here), and a CLI run
 * makes one per agent. Only when the key info appears exactly once in the certificate's DER (else
 * undefined: the caller parses the certificate). A wrong key could only fail verification.
 */
function p256Key(pem: string): KeyObject | undefined {
	if (!pem.startsWith('-----BEGIN CERTIFICATE-----')) {
		return undefined;
	}

	const der = pemToDer(pem);
	const at = der.indexOf(p256SpkiPrefix);
	if (at < 0 || der.lastIndexOf(p256SpkiPrefix) !== at || at + p256SpkiPrefix.length + 64 > der.length) {
		return undefined;
	}

	const point = at + p256SpkiPrefix.length;
	try {
		return createPublicKey({key: {kty: 'EC', crv: 'P-256', x: der.toString('base64url', point, point + 32), y: der.toString('base64url', point + 32, point + 64)}, format: 'jwk'});
	} catch {
		return undefined;
	}
}
