/** The REST API's TLS: the versions and suites it offers, and how idle and slow connections are cut. */
import {constants} from 'node:crypto';
import type {Server as TlsServer, TLSSocket} from 'node:tls';
import type {ApiTlsVersion} from './server-options.js';

/**
 * TLS 1.3 only by default, as the agents and the pairing listener: every client we ship (and curl,
 * browsers, Node, Go, Python of the last five years) speaks it, and TLS 1.2's CBC suites are what
 * testssl flags (LUCKY13). A site whose client or load balancer still needs TLS 1.2 sets
 * {"api": {"tlsMinVersion": "TLSv1.2"}}: then only ECDHE with AEAD suites are offered, never CBC.
 * Tickets are off: a resumed session must not skip the client-certificate check.
 */
export function tlsSettings(minVersion: ApiTlsVersion = 'TLSv1.3') {
	return minVersion === 'TLSv1.3'
		? {minVersion, secureOptions: constants.SSL_OP_NO_TICKET}
		: {minVersion, secureOptions: constants.SSL_OP_NO_TICKET, ciphers: aeadCiphers};
}

const aeadCiphers = [
	'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256', 'TLS_AES_128_GCM_SHA256',
	'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-ECDSA-AES128-GCM-SHA256',
	'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-RSA-CHACHA20-POLY1305', 'ECDHE-RSA-AES128-GCM-SHA256',
].join(':');

export const defaultDeadlines = {handshakeMs: 10_000, headersMs: 10_000};

/**
 * Idle and slow connections are cut within a second or two of their deadline (measured: Node's
 * defaults kept an idle TCP or TLS connection open 120 s and more). A handshake not done in
 * `handshakeMs` is refused and its socket destroyed (Node reports it and leaves it open); a TLS
 * connection that sends nothing within `headersMs` is cut; once it sends, the headers must be
 * complete within `headersMs` (checked every second) and the whole request within 30 s.
 */
export function cutIdleConnections(server: TlsServer, deadlines: {handshakeMs: number; headersMs: number}): void {
	const http = server as TlsServer & {headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number};
	http.headersTimeout = deadlines.headersMs;
	http.requestTimeout = Math.max(30_000, deadlines.headersMs);
	http.connectionsCheckingInterval = Math.min(1000, deadlines.headersMs);
	server.on('tlsClientError', (_error: Error, socket: TLSSocket) => {
		socket.destroy();
	});
	server.on('secureConnection', (socket: TLSSocket) => {
		socket.setTimeout(deadlines.headersMs, () => socket.destroy());
		socket.once('data', () => socket.setTimeout(0));
	});
}
