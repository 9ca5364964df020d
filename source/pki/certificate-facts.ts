/**
 * What the fleet's identity checks need from a certificate, read once per distinct certificate:
 * a fan-out to 1000 agents presents 1000 certificates, and an agent sees the same controller
 * certificate on every connection, so parsing each time (about 3 ms of CPU with @peculiar/x509)
 * would dominate. Keyed by the SHA-256 of the DER bytes; a bounded cache, oldest dropped first.
 */
import {createHash, X509Certificate} from 'node:crypto';
import {normaliseSerial} from './fingerprints.js';
import {identityOf, type IdentityCheck} from './identity.js';
import {certificateFromDer, x509} from './x509.js';

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

function readFacts(der: Uint8Array): CertificateFacts | undefined {
	try {
		const certificate = certificateFromDer(der);
		const usage = certificate.getExtension(x509.ExtendedKeyUsageExtension);
		return {
			serial: normaliseSerial(certificate.serialNumber),
			identity: identityOf(certificate),
			clientAuth: usage?.usages.includes(x509.ExtendedKeyUsage.clientAuth) ?? false,
			publicKeySha256: createHash('sha256').update(Buffer.from(certificate.publicKey.rawData)).digest('hex'),
			notAfter: certificate.notAfter,
		};
	} catch {
		return undefined;
	}
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
