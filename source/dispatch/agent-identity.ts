/**
 * What every direct connection to an agent is made with and checked against: the controller's TLS
 * client context (TLS 1.3 only, the fleet CA alone trusted), and the agent's identity at the
 * handshake (exactly one SAN URI naming the agent meant, a serial the registry does not refuse).
 * Small and apart from the exchange itself (tls-link.ts) so that the CLI can dial before it has
 * loaded the rest (cli/early-dial.ts).
 */
import type {Socket} from 'node:net';
import {connect, createSecureContext, TLSSocket, type PeerCertificate, type SecureContext} from 'node:tls';
import {sanUris} from '../pki/certificate-facts.js';
import type {TlsCredentials} from '../pki/credentials.js';
import {normaliseSerial} from '../pki/fingerprints.js';
import {identityFromUris, identityUri, type IdentityCheck} from '../pki/identity-uri.js';

/** Made once per process: parsing keys for each of 1000 connections would dominate a fan-out. */
export function createTlsContext(credentials: TlsCredentials): SecureContext {
	return createSecureContext({key: credentials.key, cert: credentials.cert, ca: [credentials.ca], minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3'});
}

/** What the controller checks of the certificate an agent presented: its serial and its SAN identity. */
export type PresentedIdentity = {serial: string; identity: IdentityCheck};

/**
 * The serial and identity of the certificate node hands checkServerIdentity at the handshake, read
 * from node's own rendering of it (the same OpenSSL parse and SAN printer as X509Certificate's):
 * parsing the DER again cost ~0.5 ms a connection, and a fan-out meets a new certificate at each.
 */
export function presentedIdentity(certificate: Pick<PeerCertificate, 'serialNumber' | 'subjectaltname'> | undefined): PresentedIdentity | undefined {
	if (typeof certificate?.serialNumber !== 'string' || certificate.serialNumber === '') {
		return undefined;
	}

	const uris = sanUris(certificate.subjectaltname);
	return {
		serial: normaliseSerial(certificate.serialNumber),
		identity: uris === undefined ? {ok: false, reason: 'the certificate\'s subject alternative names cannot be read'} : identityFromUris(uris),
	};
}

/** Undefined when the certificate `presented` names agent `expectedName` and its serial is not revoked; else the refusal. */
export function checkAgentIdentity(expectedName: string, presented: PresentedIdentity | undefined, revoked: ReadonlySet<string> | undefined): Error | undefined {
	if (!presented) {
		return new Error('the agent certificate cannot be parsed');
	}

	if (!presented.identity.ok) {
		return new Error(presented.identity.reason);
	}

	const expected = identityUri({role: 'agent', name: expectedName});
	const shown = identityUri(presented.identity.identity);
	if (shown !== expected) {
		return new Error(`the agent presented ${shown}, expected ${expected}`);
	}

	if (revoked?.has(presented.serial)) {
		return new Error(`the agent presented certificate serial ${presented.serial}, which is revoked`);
	}

	return undefined;
}

/**
 * What each connection's agent presented at its handshake, for checking it again when the
 * connection is used later (a describe's kept for its run, an early dial): node no longer returns
 * the peer's certificate once a TLS 1.3 session ticket has arrived (measured, Node 20), and a check
 * that cannot read it would refuse a connection that is fine. Kept by socket, dropped with it. One
 * map per process even where this module is loaded twice: the installed CLI's CommonJS entry dials
 * early with its own copy, and the program it loads takes the connection (scripts/bundle.js).
 */
const presentedKey = Symbol.for('xi-exec.presented-by-socket');
const shared = globalThis as {[presentedKey]?: WeakMap<TLSSocket, PresentedIdentity>};
const presentedBySocket = shared[presentedKey] ??= new WeakMap<TLSSocket, PresentedIdentity>();

/**
 * A TLS connection to agent `name` at `address`, its identity checked at the handshake
 * (checkAgentIdentity) and kept for presentedBy. The serial and identity are read from the
 * certificate object node builds for its own check, not parsed from the DER again. With `tcp`, the
 * handshake runs on that TCP connection to `address`, opened earlier (cli/early-socket.ts), still
 * connecting or connected, on which nothing has been sent.
 */
export function dialAgent(address: {host: string; port: number}, tls: SecureContext, name: string, revoked: ReadonlySet<string> | undefined, tcp?: Socket): TLSSocket {
	const socket: TLSSocket = connect({
		...(tcp ? {socket: tcp} : {}),
		host: address.host,
		port: address.port,
		secureContext: tls,
		minVersion: 'TLSv1.3',
		rejectUnauthorized: true,
		checkServerIdentity(_host, certificate) {
			Reflect.deleteProperty(socket, 'getPeerCertificate');
			const presented = presentedIdentity(certificate);
			const refused = checkAgentIdentity(name, presented, revoked);
			if (!refused) {
				presentedBySocket.set(socket, presented!);
			}

			return refused;
		},
	});
	// Node hands checkServerIdentity the detailed certificate, the whole chain with every field and
	// three fingerprints each (300 µs a connection, measured: bench/peer-certificate.ts); the check
	// reads the leaf's serial and SAN, which the plain rendering of the same leaf has (15 µs). Only
	// for node's call at the handshake (Node 20 and 24 make it once, just before checkServerIdentity,
	// in onConnectSecure): the shadow and the check each put node's own method back first thing.
	// Node skips both for a resumed session; none can happen, since no `session` is ever passed here.
	// (getPeerX509Certificate is dearer still, 2.5x this read on a fresh connection: on a client it
	// re-parses each issuer the agent sent and empties the connection's chain; bench/peer-certificate.ts.)
	socket.getPeerCertificate = leafCertificate as TLSSocket['getPeerCertificate'];
	return socket;
}

function leafCertificate(this: TLSSocket): PeerCertificate {
	Reflect.deleteProperty(this, 'getPeerCertificate');
	return TLSSocket.prototype.getPeerCertificate.call(this, false);
}

/** What `socket`'s agent presented at its handshake (undefined when not remembered: checkAgentIdentity refuses). */
export function presentedBy(socket: TLSSocket): PresentedIdentity | undefined {
	return presentedBySocket.get(socket);
}
