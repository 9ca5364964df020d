/**
 * Identities as SAN URIs (see identity.ts), without any certificate parsing: the connection
 * paths import this, and @peculiar/x509 stays off them.
 */
import {isAgentName} from '../protocol/text-checks.js';

export type Identity = {role: 'controller'} | {role: 'server'} | {role: 'audit'} | {role: 'broker'} | {role: 'agent'; name: string};

export function identityUri(identity: Identity): string {
	return identity.role === 'agent' ? `xi-exec:agent/${identity.name}` : `xi-exec:${identity.role}`;
}

export function parseIdentityUri(uri: string): Identity | undefined {
	if (uri === 'xi-exec:controller' || uri === 'xi-exec:server' || uri === 'xi-exec:audit' || uri === 'xi-exec:broker') {
		return {role: uri.slice('xi-exec:'.length) as 'controller' | 'server' | 'audit' | 'broker'};
	}

	const prefix = 'xi-exec:agent/';
	if (uri.startsWith(prefix)) {
		const name = uri.slice(prefix.length);
		return isAgentName(name) ? {role: 'agent', name} : undefined;
	}

	return undefined;
}

export type IdentityCheck = {ok: true; identity: Identity} | {ok: false; reason: string};

/** The verdict on a certificate's SAN URIs: exactly one, naming an xi-exec identity. */
export function identityFromUris(uris: readonly string[]): IdentityCheck {
	if (uris.length !== 1) {
		return {ok: false, reason: `certificate must name exactly one xi-exec identity in a SAN URI; it has ${uris.length}`};
	}

	const identity = parseIdentityUri(uris[0]!);
	return identity ? {ok: true, identity} : {ok: false, reason: `SAN URI ${JSON.stringify(uris[0])} is not an xi-exec identity`};
}

export function sameIdentity(a: Identity, b: Identity): boolean {
	return identityUri(a) === identityUri(b);
}
