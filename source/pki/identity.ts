/**
 * Who a certificate speaks for, written in exactly one SAN URI and compared as an exact string:
 *
 *   xi-exec:controller      the controller, dialling agents (clientAuth)
 *   xi-exec:server          the controller's HTTPS and pairing listeners (serverAuth)
 *   xi-exec:audit           the controller's audit-signing key
 *   xi-exec:agent/NAME      an agent (serverAuth for its listener, clientAuth for policy calls)
 *
 * A certificate with no URI SAN, or with several, names nobody and is refused.
 */
import {isAgentName} from '../protocol/text-checks.js';
import {x509} from './x509.js';

export type Identity = {role: 'controller'} | {role: 'server'} | {role: 'audit'} | {role: 'agent'; name: string};

export function identityUri(identity: Identity): string {
	return identity.role === 'agent' ? `xi-exec:agent/${identity.name}` : `xi-exec:${identity.role}`;
}

export function parseIdentityUri(uri: string): Identity | undefined {
	if (uri === 'xi-exec:controller' || uri === 'xi-exec:server' || uri === 'xi-exec:audit') {
		return {role: uri.slice('xi-exec:'.length) as 'controller' | 'server' | 'audit'};
	}

	const prefix = 'xi-exec:agent/';
	if (uri.startsWith(prefix)) {
		const name = uri.slice(prefix.length);
		return isAgentName(name) ? {role: 'agent', name} : undefined;
	}

	return undefined;
}

export type IdentityCheck = {ok: true; identity: Identity} | {ok: false; reason: string};

/** The one identity a certificate (or a CSR) names, or why it names none. */
export function identityOf(certificate: {extensions: x509.Extension[]}): IdentityCheck {
	const uris: string[] = [];
	const sanOid = '2.5.29.17';
	for (const extension of certificate.extensions.filter(item => item.type === sanOid)) {
		for (const name of new x509.SubjectAlternativeNameExtension(extension.rawData).names.items) {
			if (name.type === 'url') {
				uris.push(name.value);
			}
		}
	}

	if (uris.length !== 1) {
		return {ok: false, reason: `certificate must name exactly one xi-exec identity in a SAN URI; it has ${uris.length}`};
	}

	const identity = parseIdentityUri(uris[0]!);
	return identity ? {ok: true, identity} : {ok: false, reason: `SAN URI ${JSON.stringify(uris[0])} is not an xi-exec identity`};
}

export function sameIdentity(a: Identity, b: Identity): boolean {
	return identityUri(a) === identityUri(b);
}
