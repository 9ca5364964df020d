/**
 * Who may command this agent: a certificate that the TLS layer already chained to the fleet CA,
 * issued by the CA whose public-key hash was pinned at pairing, naming exactly the controller
 * identity (one SAN URI, compared as an exact string), allowed for client authentication, and
 * carrying one of the pinned controller serials. Another agent's valid certificate fails here.
 */
import {certificateFacts, signedBy} from '../source/pki/certificate-facts.js';
import {normaliseSerial} from '../source/pki/fingerprints.js';
import type {Pins} from './pins.js';

export type {Pins} from './pins.js';

/** `code` names the one refusal a controller acts on: its serial is not (or no longer) pinned here. */
export type PeerVerdict = {ok: true; serial: string} | {ok: false; reason: string; code?: 'unpinned'};

export function checkControllerCertificate(peerDer: Buffer, issuerDer: Buffer | undefined, pins: Pins): PeerVerdict {
	if (!issuerDer) {
		return certificateFacts(peerDer) ? {ok: false, reason: 'the peer certificate has no issuer in the chain'} : {ok: false, reason: 'the peer certificate cannot be parsed'};
	}

	const certificate = certificateFacts(peerDer);
	const issuer = certificateFacts(issuerDer);
	if (!certificate || !issuer) {
		return {ok: false, reason: 'the peer certificate cannot be parsed'};
	}

	if (issuer.publicKeySha256 !== pins.caSha256) {
		return {ok: false, reason: 'the peer certificate is not issued by the pinned fleet CA'};
	}

	// The pin holds on its own, not only behind the TLS layer: the issuer named in the chain must
	// really have signed the certificate (a foreign CA can copy the fleet CA's name, not its key).
	if (!signedBy(peerDer, issuerDer)) {
		return {ok: false, reason: 'the peer certificate is not signed by the pinned fleet CA'};
	}

	const named = certificate.identity;
	if (!named.ok) {
		return {ok: false, reason: named.reason};
	}

	if (named.identity.role !== 'controller') {
		return {ok: false, reason: `the peer is ${named.identity.role === 'agent' ? `agent ${named.identity.name}` : named.identity.role}, not the controller`};
	}

	if (!certificate.clientAuth) {
		return {ok: false, reason: 'the controller certificate is not allowed for client authentication'};
	}

	const {serial} = certificate;
	if (!pins.controllerSerials.map(normaliseSerial).includes(serial)) {
		return {ok: false, reason: `controller certificate serial ${serial} is not the pinned one`, code: 'unpinned'};
	}

	return {ok: true, serial};
}
