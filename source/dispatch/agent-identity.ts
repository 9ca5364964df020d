/**
 * What every direct connection to an agent is made with and checked against: the controller's TLS
 * client context (TLS 1.3 only, the fleet CA alone trusted), and the agent's identity at the
 * handshake (exactly one SAN URI naming the agent meant, a serial the registry does not refuse).
 * Small and apart from the exchange itself (tls-link.ts) so that the CLI can dial before it has
 * loaded the rest (cli/early-dial.ts).
 */
import {connect, createSecureContext, type SecureContext, type TLSSocket} from 'node:tls';
import {certificateFacts} from '../pki/certificate-facts.js';
import type {TlsCredentials} from '../pki/credentials.js';
import {identityUri} from '../pki/identity-uri.js';

/** Made once per process: parsing keys for each of 1000 connections would dominate a fan-out. */
export function createTlsContext(credentials: TlsCredentials): SecureContext {
	return createSecureContext({key: credentials.key, cert: credentials.cert, ca: [credentials.ca], minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3'});
}

/** Undefined when `certificate` (DER) names agent `expectedName` and its serial is not revoked; else the refusal. */
export function checkAgentIdentity(expectedName: string, certificate: {raw?: Buffer} | undefined, revoked: ReadonlySet<string> | undefined): Error | undefined {
	const facts = certificate?.raw ? certificateFacts(certificate.raw) : undefined;
	if (!facts) {
		return new Error('the agent certificate cannot be parsed');
	}

	if (!facts.identity.ok) {
		return new Error(facts.identity.reason);
	}

	const expected = identityUri({role: 'agent', name: expectedName});
	const presented = identityUri(facts.identity.identity);
	if (presented !== expected) {
		return new Error(`the agent presented ${presented}, expected ${expected}`);
	}

	if (revoked?.has(facts.serial)) {
		return new Error(`the agent presented certificate serial ${facts.serial}, which is revoked`);
	}

	return undefined;
}

/**
 * The certificate each connection's agent presented at its handshake (DER), for checking it again
 * when the connection is used later (a describe's kept for its run, an early dial): node no longer
 * returns the peer's certificate once a TLS 1.3 session ticket has arrived (measured, Node 20), and
 * a check that cannot read it would refuse a connection that is fine. Kept by socket, dropped with it.
 */
const presented = new WeakMap<TLSSocket, Buffer>();

/**
 * A TLS connection to agent `name` at `address`, its identity checked at the handshake
 * (checkAgentIdentity) and the certificate it presented kept for presentedCertificate. The DER
 * is taken from the certificate node builds for its own check, not read from the socket again.
 */
export function dialAgent(address: {host: string; port: number}, tls: SecureContext, name: string, revoked: ReadonlySet<string> | undefined): TLSSocket {
	const socket: TLSSocket = connect({
		host: address.host,
		port: address.port,
		secureContext: tls,
		minVersion: 'TLSv1.3',
		rejectUnauthorized: true,
		checkServerIdentity(_host, certificate) {
			const refused = checkAgentIdentity(name, certificate, revoked);
			if (!refused) {
				presented.set(socket, certificate.raw);
			}

			return refused;
		},
	});
	return socket;
}

/** What `socket`'s agent presented at its handshake, as checkAgentIdentity takes it (nothing when not remembered: refused). */
export function presentedCertificate(socket: TLSSocket): {raw?: Buffer} {
	const der = presented.get(socket);
	return der ? {raw: der} : {};
}
