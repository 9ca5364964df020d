/**
 * Who may command this agent: a certificate that the TLS layer already chained to the fleet CA,
 * issued by the CA whose public-key hash was pinned at pairing, naming exactly the controller
 * identity (one SAN URI, compared as an exact string), allowed for client authentication, and
 * carrying one of the pinned controller serials. Another agent's valid certificate fails here.
 */
import {X509Certificate} from 'node:crypto';
import {identityOf} from '../source/pki/identity.js';
import {normaliseSerial, publicKeySha256} from '../source/pki/fingerprints.js';
import {certificateFromDer, x509} from '../source/pki/x509.js';

export type Pins = {caSha256: string; controllerSerials: string[]};

export type PeerVerdict = {ok: true; serial: string} | {ok: false; reason: string};

export function checkControllerCertificate(peerDer: Buffer, issuerDer: Buffer | undefined, pins: Pins): PeerVerdict {
	let certificate: x509.X509Certificate;
	let issuer: x509.X509Certificate;
	try {
		certificate = certificateFromDer(peerDer);
		if (!issuerDer) {
			return {ok: false, reason: 'the peer certificate has no issuer in the chain'};
		}

		issuer = certificateFromDer(issuerDer);
	} catch {
		return {ok: false, reason: 'the peer certificate cannot be parsed'};
	}

	if (publicKeySha256(issuer) !== pins.caSha256) {
		return {ok: false, reason: 'the peer certificate is not issued by the pinned fleet CA'};
	}

	// The pin holds on its own, not only behind the TLS layer: the issuer named in the chain must
	// really have signed the certificate (a foreign CA can copy the fleet CA's name, not its key).
	if (!signedBy(peerDer, issuerDer)) {
		return {ok: false, reason: 'the peer certificate is not signed by the pinned fleet CA'};
	}

	const named = identityOf(certificate);
	if (!named.ok) {
		return {ok: false, reason: named.reason};
	}

	if (named.identity.role !== 'controller') {
		return {ok: false, reason: `the peer is ${named.identity.role === 'agent' ? `agent ${named.identity.name}` : named.identity.role}, not the controller`};
	}

	const usage = certificate.getExtension(x509.ExtendedKeyUsageExtension);
	if (!usage?.usages.includes(x509.ExtendedKeyUsage.clientAuth)) {
		return {ok: false, reason: 'the controller certificate is not allowed for client authentication'};
	}

	const serial = normaliseSerial(certificate.serialNumber);
	if (!pins.controllerSerials.map(normaliseSerial).includes(serial)) {
		return {ok: false, reason: `controller certificate serial ${serial} is not the pinned one`};
	}

	return {ok: true, serial};
}

function signedBy(certificateDer: Buffer, issuerDer: Buffer): boolean {
	try {
		return new X509Certificate(certificateDer).verify(new X509Certificate(issuerDer).publicKey);
	} catch {
		return false;
	}
}
