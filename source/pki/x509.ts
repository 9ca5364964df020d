/**
 * @peculiar/x509 set up once: it needs reflect-metadata imported first (it throws at import
 * otherwise) and a WebCrypto provider. Every PKI module imports x509 from here.
 */
import 'reflect-metadata';
import {webcrypto} from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export {x509};
export const subtle = webcrypto.subtle as unknown as SubtleCrypto;

/** ECDSA P-256 with SHA-256, for every key in the fleet. */
export const keyAlgorithm = {name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256'} as const;

/** A certificate from DER bytes (a Buffer from node:tls, say). Throws on bad input. */
export function certificateFromDer(der: Uint8Array): x509.X509Certificate {
	return new x509.X509Certificate(new Uint8Array(der));
}
