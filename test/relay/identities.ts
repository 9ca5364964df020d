/** Certificates with their private keys for the relay's unit tests, minted at a fixed date. */
import {issueCertificate, type CertificateAuthority} from '../../source/pki/issue.js';
import {generateKeyPair, privateKeyToPem} from '../../source/pki/keys.js';
import type {Identity} from '../../source/pki/identity-uri.js';
import {normaliseSerial, publicKeySha256} from '../../source/pki/fingerprints.js';
import {signerFromPem, type Signer} from '../../source/protocol/relay-envelope.js';
import {now} from '../pki/mint.js';

export type Holder = {certificate: string; key: string; serial: string; signer: Signer; der: Buffer};

export async function holder(ca: CertificateAuthority, identity: Identity): Promise<Holder> {
	const keys = await generateKeyPair();
	const certificate = await issueCertificate({ca, publicKey: keys.publicKey, identity, now});
	const pem = certificate.toString('pem');
	const key = await privateKeyToPem(keys.privateKey);
	return {certificate: pem, key, serial: normaliseSerial(certificate.serialNumber), signer: signerFromPem(key, pem), der: Buffer.from(certificate.rawData)};
}

export const fleetHash = (ca: CertificateAuthority) => publicKeySha256(ca.certificate);
export const caDer = (ca: CertificateAuthority) => Buffer.from(ca.certificate.rawData);
