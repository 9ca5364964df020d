import {createHash} from 'node:crypto';
import type {x509} from './x509.js';

/** SHA-256 of the certificate's SubjectPublicKeyInfo, hex: what `--ca-sha256` pins. */
export function publicKeySha256(certificate: x509.X509Certificate): string {
	return createHash('sha256').update(Buffer.from(certificate.publicKey.rawData)).digest('hex');
}

/** SHA-256 of the whole DER certificate, hex. */
export function certificateSha256(certificate: x509.X509Certificate): string {
	return createHash('sha256').update(Buffer.from(certificate.rawData)).digest('hex');
}

/** Serials compared in one spelling: lower-case hex without leading zeros. */
export function normaliseSerial(serial: string): string {
	return serial.toLowerCase().replace(/^0+(?=.)/, '');
}

/** `ab12cd…` as `AB:12:CD:…`, the way openssl prints fingerprints, for people to compare. */
export function colonHex(hex: string): string {
	return hex.toUpperCase().match(/.{2}/g)?.join(':') ?? '';
}
