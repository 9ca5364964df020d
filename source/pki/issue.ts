/**
 * The fleet's certificate authority: a self-signed ECDSA P-256 CA and the leaf certificates it
 * issues. Pure apart from WebCrypto; the clock and the randomness of serials come in as inputs.
 */
import {getRandomValues} from 'node:crypto';
import {identityUri, type Identity} from './identity.js';
import {keyAlgorithm, x509} from './x509.js';

const day = 24 * 60 * 60 * 1000;

/** Default validity, in days, by role. Agents renew automatically well before expiry. */
export const validityDays = {ca: 3650, controller: 397, server: 397, audit: 397, broker: 397, agent: 90} as const;

export type CertificateAuthority = {certificate: x509.X509Certificate; privateKey: CryptoKey};

/** A random positive 128-bit serial whose first byte is not zero (so it has one hex spelling). */
export function randomSerial(): string {
	const bytes = getRandomValues(new Uint8Array(16));
	bytes[0] = (bytes[0]! & 0x7f) | 0x10;
	return Buffer.from(bytes).toString('hex');
}

export async function createCertificateAuthority(options: {keys: CryptoKeyPair; now: Date; days?: number; name?: string}): Promise<x509.X509Certificate> {
	const {keys, now} = options;
	return x509.X509CertificateGenerator.createSelfSigned({
		serialNumber: randomSerial(),
		name: `CN=${options.name ?? 'xi-exec fleet CA'}`,
		notBefore: new Date(now.getTime() - (5 * 60 * 1000)),
		notAfter: new Date(now.getTime() + ((options.days ?? validityDays.ca) * day)),
		signingAlgorithm: keyAlgorithm,
		keys,
		extensions: [
			new x509.BasicConstraintsExtension(true, 0, true),
			new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
			await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
		],
	});
}

export type IssueOptions = {
	ca: CertificateAuthority;
	publicKey: CryptoKey | x509.PublicKey;
	identity: Identity;
	now: Date;
	/** Validity in days; defaults by role. `notAfter` wins when given (tests mint short-lived certificates). */
	days?: number;
	notAfter?: Date;
	/** Extra DNS names and IP addresses for a server certificate. */
	dnsNames?: string[];
	ipAddresses?: string[];
	serial?: string;
};

const usagesByRole: Record<Identity['role'], string[]> = {
	controller: [x509.ExtendedKeyUsage.clientAuth],
	server: [x509.ExtendedKeyUsage.serverAuth],
	audit: [],
	/** The relay's message broker (nats-server): it serves TLS and dials its cluster peers. */
	broker: [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
	agent: [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
};

export async function issueCertificate(options: IssueOptions): Promise<x509.X509Certificate> {
	const {ca, identity, now} = options;
	const subjectName = identity.role === 'agent' ? identity.name : `xi-exec ${identity.role}`;
	const notAfter = options.notAfter ?? new Date(now.getTime() + ((options.days ?? validityDays[identity.role]) * day));
	const caNotAfter = ca.certificate.notAfter;
	const sanNames: x509.JsonGeneralNames = [
		{type: 'url', value: identityUri(identity)},
		...(options.dnsNames ?? []).map(value => ({type: 'dns' as const, value})),
		...(options.ipAddresses ?? []).map(value => ({type: 'ip' as const, value})),
	];
	const usages = usagesByRole[identity.role];
	return x509.X509CertificateGenerator.create({
		serialNumber: options.serial ?? randomSerial(),
		subject: `CN=${subjectName}`,
		issuer: ca.certificate.subject,
		notBefore: new Date(now.getTime() - (5 * 60 * 1000)),
		notAfter: notAfter > caNotAfter ? caNotAfter : notAfter,
		signingAlgorithm: keyAlgorithm,
		publicKey: options.publicKey,
		signingKey: ca.privateKey,
		extensions: [
			new x509.BasicConstraintsExtension(false, undefined, true),
			new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
			...(usages.length > 0 ? [new x509.ExtendedKeyUsageExtension(usages)] : []),
			new x509.SubjectAlternativeNameExtension(sanNames),
			await x509.SubjectKeyIdentifierExtension.create(options.publicKey),
			await x509.AuthorityKeyIdentifierExtension.create(ca.certificate),
		],
	});
}
