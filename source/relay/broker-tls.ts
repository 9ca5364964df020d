/**
 * How controller and agent dial the broker: TLS with their own fleet certificate (the broker maps
 * its SAN URI to their broker user), the fleet CA alone as trust, and the broker recognised by its
 * role `xi-exec:broker` in the fleet PKI rather than by a host name. Passed through
 * @nats-io/transport-node to node:tls (its TLS options are extended with ours as they are).
 */
import type {NodeConnectionOptions} from '@nats-io/transport-node';
import type {PeerCertificate} from 'node:tls';
import {certificateFacts} from '../pki/certificate-facts.js';
import {identityUri} from '../pki/identity-uri.js';

export function brokerTls(credentials: {cert: string; key: string; ca: string}): NonNullable<NodeConnectionOptions['tls']> {
	const options = {
		cert: credentials.cert,
		key: credentials.key,
		ca: credentials.ca,
		minVersion: 'TLSv1.3',
		checkServerIdentity: (_host: string, certificate: PeerCertificate) => checkBrokerIdentity(certificate),
	};
	return options;
}

export function checkBrokerIdentity(certificate: PeerCertificate): Error | undefined {
	const facts = certificateFacts(certificate.raw);
	if (!facts) {
		return new Error('the broker certificate cannot be parsed');
	}

	if (!facts.identity.ok) {
		return new Error(`the broker certificate: ${facts.identity.reason}`);
	}

	const presented = identityUri(facts.identity.identity);
	const expected = identityUri({role: 'broker'});
	return presented === expected ? undefined : new Error(`the broker presented ${presented}, expected ${expected}`);
}
