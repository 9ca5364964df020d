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
import {identityFromUris, type IdentityCheck} from './identity-uri.js';
import {x509} from './x509.js';

export {identityFromUris, identityUri, parseIdentityUri, sameIdentity, type Identity, type IdentityCheck} from './identity-uri.js';

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

	return identityFromUris(uris);
}
