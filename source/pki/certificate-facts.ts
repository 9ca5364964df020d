/**
 * What the fleet's identity checks need from a certificate, read once per distinct certificate:
 * a fan-out to 1000 agents presents 1000 certificates, and an agent sees the same controller
 * certificate on every connection, so parsing each time would add up. Read with node:crypto
 * (@peculiar/x509 costs ~3 ms a certificate and ~100 ms to import, and stays off the connection
 * paths). Keyed by the SHA-256 of the DER bytes; a bounded cache, oldest dropped first.
 */
import {createHash, X509Certificate} from 'node:crypto';
import {normaliseSerial} from './fingerprints.js';
import {identityFromUris, type IdentityCheck} from './identity-uri.js';

export type CertificateFacts = {
	serial: string;
	identity: IdentityCheck;
	clientAuth: boolean;
	/** SHA-256 of the SubjectPublicKeyInfo, hex (what the CA pin compares). */
	publicKeySha256: string;
	notAfter: Date;
};

const cacheSize = 4096;
const cache = new Map<string, CertificateFacts | undefined>();

/** The facts, or undefined when the bytes are not a certificate. */
export function certificateFacts(der: Uint8Array): CertificateFacts | undefined {
	const key = createHash('sha256').update(der).digest('hex');
	if (cache.has(key)) {
		return cache.get(key);
	}

	const facts = readFacts(der);
	if (cache.size >= cacheSize) {
		cache.delete(cache.keys().next().value!);
	}

	cache.set(key, facts);
	return facts;
}

const clientAuthOid = '1.3.6.1.5.5.7.3.2';

function readFacts(der: Uint8Array): CertificateFacts | undefined {
	let certificate: X509Certificate;
	try {
		certificate = new X509Certificate(der);
	} catch {
		return undefined;
	}

	const uris = sanUris(certificate.subjectAltName);
	// Read on first use, from the bytes again: only the CA's is ever compared (with its pin), while
	// exporting a key costs about as much as everything else here (0.18 of 0.36 ms of CPU), paid for
	// every agent certificate of a fan-out; the cache keeps no certificate object alive meanwhile.
	const bytes = Uint8Array.from(der);
	let publicKeySha256: string | undefined;
	return {
		serial: normaliseSerial(certificate.serialNumber),
		identity: uris === undefined ? {ok: false, reason: 'the certificate\'s subject alternative names cannot be read'} : identityFromUris(uris),
		clientAuth: (certificate.keyUsage ?? []).includes(clientAuthOid),
		get publicKeySha256() {
			publicKeySha256 ??= createHash('sha256').update(new X509Certificate(bytes).publicKey.export({type: 'spki', format: 'der'})).digest('hex');
			return publicKeySha256;
		},
		notAfter: new Date(certificate.validTo),
	};
}

/**
 * The URI entries of node's rendering of the SAN extension: `TYPE:value` entries joined by ", ",
 * where a value holding a comma, a quote or a control character is written as a JSON string (so
 * no value can smuggle in another entry). Undefined when the text does not have that shape.
 */
export function sanUris(san: string | undefined): string[] | undefined {
	const uris: string[] = [];
	let index = 0;
	while (san && index < san.length) {
		const colon = san.indexOf(':', index);
		if (colon === -1) {
			return undefined;
		}

		const type = san.slice(index, colon);
		let value: string;
		let next = colon + 1;
		if (san[next] === '"') {
			let close = next + 1;
			while (close < san.length && san[close] !== '"') {
				close += san[close] === '\\' ? 2 : 1;
			}

			try {
				value = JSON.parse(san.slice(next, close + 1)) as string;
			} catch {
				return undefined;
			}

			next = close + 1;
		} else {
			const separator = san.indexOf(', ', next);
			const end = separator === -1 ? san.length : separator;
			value = san.slice(next, end);
			next = end;
		}

		if (type === 'URI') {
			uris.push(value);
		}

		if (next < san.length && !san.startsWith(', ', next)) {
			return undefined;
		}

		index = next + 2;
	}

	return uris;
}

const signatures = new Map<string, boolean>();

/** Whether `issuerDer`'s key really signed `certificateDer` (cached per pair). */
export function signedBy(certificateDer: Uint8Array, issuerDer: Uint8Array): boolean {
	const key = createHash('sha256').update(certificateDer).update(issuerDer).digest('hex');
	const known = signatures.get(key);
	if (known !== undefined) {
		return known;
	}

	let verdict: boolean;
	try {
		verdict = new X509Certificate(certificateDer).verify(new X509Certificate(issuerDer).publicKey);
	} catch {
		verdict = false;
	}

	if (signatures.size >= cacheSize) {
		signatures.delete(signatures.keys().next().value!);
	}

	signatures.set(key, verdict);
	return verdict;
}
