/** Checks a certificate against an issuer we hold: signature, validity at `now`, and the identity it names. */
import {identityOf, identityUri, sameIdentity, type Identity} from './identity.js';
import {x509} from './x509.js';

export async function checkIssuedBy(certificate: x509.X509Certificate, issuer: x509.X509Certificate, expected: Identity, now: Date): Promise<string | undefined> {
	const signed = await certificate.verify({publicKey: issuer, signatureOnly: true}).catch(() => false);
	if (!signed) {
		return `the ${expected.role} certificate is not signed by the CA`;
	}

	if (now < certificate.notBefore || now > certificate.notAfter) {
		return `the ${expected.role} certificate is not valid now (valid ${certificate.notBefore.toISOString()} to ${certificate.notAfter.toISOString()})`;
	}

	const named = identityOf(certificate);
	if (!named.ok) {
		return named.reason;
	}

	return sameIdentity(named.identity, expected) ? undefined : `the certificate names ${identityUri(named.identity)}, not ${identityUri(expected)}`;
}

/** A usable fleet CA: self-signed, marked as a CA, valid now. */
export async function checkCertificateAuthority(ca: x509.X509Certificate, now: Date): Promise<string | undefined> {
	const constraints = ca.getExtension(x509.BasicConstraintsExtension);
	if (!constraints?.ca) {
		return 'the CA certificate is not marked as a CA';
	}

	const selfSigned = await ca.verify({publicKey: ca, signatureOnly: true}).catch(() => false);
	if (!selfSigned) {
		return 'the CA certificate is not self-signed';
	}

	return now < ca.notBefore || now > ca.notAfter ? 'the CA certificate is not valid now' : undefined;
}
