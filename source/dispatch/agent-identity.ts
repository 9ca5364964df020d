/**
 * What every direct connection to an agent is made with and checked against: the controller's TLS
 * client context (TLS 1.3 only, the fleet CA alone trusted), and the agent's identity at the
 * handshake (exactly one SAN URI naming the agent meant, a serial the registry does not refuse).
 * Small and apart from the exchange itself (tls-link.ts) so that the CLI can dial before it has
 * loaded the rest (cli/early-dial.ts).
 */
import type {Socket} from 'node:net';
import {connect, createSecureContext, type SecureContext, type TLSSocket} from 'node:tls';
import type {TlsCredentials} from '../pki/credentials.js';
import {identityFromUris, identityUri, type IdentityCheck} from '../pki/identity-uri.js';
import {sessionPeerFacts} from './presented-der.js';

/** Made once per process: parsing keys for each of 1000 connections would dominate a fan-out. */
export function createTlsContext(credentials: TlsCredentials): SecureContext {
	return createSecureContext({key: credentials.key, cert: credentials.cert, ca: [credentials.ca], minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3'});
}

/** What the controller checks of the certificate an agent presented: its serial and its SAN identity. */
export type PresentedIdentity = {serial: string; identity: IdentityCheck};

/**
 * The serial and identity of the leaf certificate in `session`, the connection's TLS session as
 * node's getSession() encodes it at the handshake (presented-der.ts): what the check reads, from
 * the bytes OpenSSL verified, without node's object of every field of the certificate.
 */
export function presentedInSession(session: Buffer | undefined): PresentedIdentity | undefined {
	const facts = session && sessionPeerFacts(session);
	return facts && {serial: facts.serial, identity: identityFromUris(facts.uris)};
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
 * session's DER (presentedInSession), not from an object node builds of the certificate. With `tcp`, the
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
		checkServerIdentity() {
			Reflect.deleteProperty(socket, 'getPeerCertificate');
			const presented = presentedInSession(socket.getSession());
			const refused = checkAgentIdentity(name, presented, revoked);
			if (!refused) {
				presentedBySocket.set(socket, presented!);
			}

			return refused;
		},
	});
	// Node reads the detailed certificate chain (every field, three fingerprints each: 300 µs a
	// connection, bench/peer-certificate.ts) just before checkServerIdentity, only to hand it over;
	// even the leaf alone, getPeerCertificate(false), is an object of every field (~2 KB, and more
	// CPU than the serial and SAN need). The check reads those two from the session's DER instead
	// (presentedInSession), so node's call gets nothing: this shadow is for that one call (Node 20
	// and 24 make it once, in onConnectSecure, just before checkServerIdentity), and puts node's own
	// method back first thing (and so does the check). Node skips both for a resumed session; none can happen, since no
	// `session` is ever passed here. (getPeerX509Certificate is dearer still: on a client it
	// re-parses each issuer the agent sent and empties the connection's chain.)
	socket.getPeerCertificate = nothingRead as unknown as TLSSocket['getPeerCertificate'];
	return socket;
}

function nothingRead(this: TLSSocket): Record<string, never> {
	Reflect.deleteProperty(this, 'getPeerCertificate');
	return {};
}

/** What `socket`'s agent presented at its handshake (undefined when not remembered: checkAgentIdentity refuses). */
export function presentedBy(socket: TLSSocket): PresentedIdentity | undefined {
	return presentedBySocket.get(socket);
}
