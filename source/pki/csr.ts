/**
 * Certificate signing requests: the agent makes its own key pair and proves it holds the private
 * key by signing the request; no private key ever crosses the wire.
 */
import {identityOf, identityUri, sameIdentity, type Identity} from './identity.js';
import {keyAlgorithm, x509} from './x509.js';

export async function createCsr(keys: CryptoKeyPair, identity: Identity): Promise<x509.Pkcs10CertificateRequest> {
	return x509.Pkcs10CertificateRequestGenerator.create({
		name: `CN=${identity.role === 'agent' ? identity.name : identity.role}`,
		keys,
		signingAlgorithm: keyAlgorithm,
		extensions: [new x509.SubjectAlternativeNameExtension([{type: 'url', value: identityUri(identity)}])],
	});
}

export type CsrCheck = {ok: true; csr: x509.Pkcs10CertificateRequest} | {ok: false; reason: string};

/** Parses a PEM CSR, checks its signature (proof of possession) and that it asks for `expected`. */
export async function verifyCsr(pem: string, expected: Identity): Promise<CsrCheck> {
	let csr: x509.Pkcs10CertificateRequest;
	try {
		csr = new x509.Pkcs10CertificateRequest(pem);
	} catch {
		return {ok: false, reason: 'the CSR is not a PKCS#10 request'};
	}

	const algorithm = csr.publicKey.algorithm as EcKeyAlgorithm;
	if (algorithm.name !== 'ECDSA' || algorithm.namedCurve !== 'P-256') {
		return {ok: false, reason: 'the CSR key must be ECDSA P-256'};
	}

	const signed = await csr.verify().catch(() => false);

	if (!signed) {
		return {ok: false, reason: 'the CSR signature does not match its key (no proof of possession)'};
	}

	const named = identityOf(csr);
	if (!named.ok) {
		return {ok: false, reason: named.reason};
	}

	if (!sameIdentity(named.identity, expected)) {
		return {ok: false, reason: `the CSR asks for ${identityUri(named.identity)}, not ${identityUri(expected)}`};
	}

	return {ok: true, csr};
}
