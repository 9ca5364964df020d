/**
 * Certificates for unit tests, minted with our own pki module at a fixed date. `mintCustom` signs
 * what issueCertificate never would (no SAN URI, two of them, the wrong usages), to test refusals.
 */
import {createCertificateAuthority, issueCertificate, randomSerial, type CertificateAuthority} from '../../source/pki/issue.js';
import {generateKeyPair} from '../../source/pki/keys.js';
import {keyAlgorithm, x509} from '../../source/pki/x509.js';

export const now = new Date('2026-01-15T12:00:00.000Z');

export async function mintAuthority(name?: string): Promise<CertificateAuthority> {
	const keys = await generateKeyPair();
	const certificate = await createCertificateAuthority({keys, now, ...(name === undefined ? {} : {name})});
	return {certificate, privateKey: keys.privateKey};
}

export async function mint(ca: CertificateAuthority, identity: Parameters<typeof issueCertificate>[0]['identity'], serial?: string): Promise<x509.X509Certificate> {
	const keys = await generateKeyPair();
	return issueCertificate({ca, publicKey: keys.publicKey, identity, now, ...(serial === undefined ? {} : {serial})});
}

export async function mintCustom(ca: CertificateAuthority, options: {names?: x509.JsonGeneralNames; usages?: string[]; serial?: string}): Promise<x509.X509Certificate> {
	const keys = await generateKeyPair();
	return x509.X509CertificateGenerator.create({
		serialNumber: options.serial ?? randomSerial(),
		subject: 'CN=xi-exec controller',
		issuer: ca.certificate.subject,
		notBefore: now,
		notAfter: new Date(now.getTime() + (24 * 60 * 60 * 1000)),
		signingAlgorithm: keyAlgorithm,
		publicKey: keys.publicKey,
		signingKey: ca.privateKey,
		extensions: [
			new x509.BasicConstraintsExtension(false, undefined, true),
			...(options.usages ? [new x509.ExtendedKeyUsageExtension(options.usages)] : []),
			...(options.names ? [new x509.SubjectAlternativeNameExtension(options.names)] : []),
		],
	});
}

export const der = (certificate: x509.X509Certificate): Buffer => Buffer.from(certificate.rawData);
