/**
 * The serial and SAN URIs of the certificate an agent presented, read from the DER bytes of the
 * connection's TLS session (node's getSession() at the handshake: OpenSSL's encoding of the
 * session, whose `peer` field is the leaf certificate the chain check just verified). node's
 * getPeerCertificate renders every field of the leaf as an object (names, key, three
 * fingerprints: ~2 KB and tens of µs per connection, the largest per-host cost after the
 * handshake itself); the check needs two fields, walked to here without a copy.
 *
 * Strict: every length definite and minimal (DER), every element inside its parent, the tags
 * where X.509 puts them. Anything else is no answer (undefined), which the check refuses.
 */

/** What the identity check reads of a certificate: its serial (lowercase hex, no leading zeros) and its SAN URIs in order. */
export type DerFacts = {serial: string; uris: string[]};

/** One element: its tag byte and where its content starts and ends. */
type Element = {tag: number; start: number; end: number};

/** The element at `offset`, wholly before `limit`; undefined when it is not valid DER there. */
function element(der: Buffer, offset: number, limit: number): Element | undefined {
	if (offset + 2 > limit) {
		return undefined;
	}

	const tag = der[offset]!;
	// High tag numbers (0x1f) appear nowhere the walk goes.
	if ((tag & 0x1f) === 0x1f) {
		return undefined;
	}

	let length = der[offset + 1]!;
	let start = offset + 2;
	if (length > 0x80) {
		const count = length & 0x7f;
		if (count > 3 || start + count > limit || der[start] === 0) {
			return undefined;
		}

		length = 0;
		for (let index = 0; index < count; index++) {
			length = (length * 256) + der[start + index]!;
		}

		start += count;
		// Minimal: a long form only for lengths the short form cannot hold.
		if (length < 0x80) {
			return undefined;
		}
	} else if (length === 0x80) {
		// Indefinite length: BER, not DER.
		return undefined;
	}

	const end = start + length;
	return end <= limit ? {tag, start, end} : undefined;
}

/** The element at `offset` when it has `tag`. */
function expect(der: Buffer, offset: number, limit: number, tag: number): Element | undefined {
	const found = element(der, offset, limit);
	return found?.tag === tag ? found : undefined;
}

const sequence = 0x30;
const integer = 0x02;
const objectId = 0x06;
const boolean = 0x01;
const octetString = 0x04;
/** [3] constructed: a session's `peer` (ssl_asn1.c), a TBSCertificate's `extensions`. */
const contextThree = 0xa3;
/** [0] constructed: a TBSCertificate's `version`. */
const contextZero = 0xa0;
/** [6] primitive: a GeneralName's uniformResourceIdentifier (IA5String). */
const uriName = 0x86;
/** 2.5.29.17, subjectAltName. */
const sanOid = [0x55, 0x1d, 0x11];

/**
 * The serial and SAN URIs of the leaf certificate in an encoded SSL_SESSION (OpenSSL's
 * SSL_SESSION_ASN1, a SEQUENCE whose fields have distinct tags: `peer [3] EXPLICIT X509 OPTIONAL`).
 */
export function sessionPeerFacts(session: Buffer): DerFacts | undefined {
	const outer = expect(session, 0, session.length, sequence);
	if (!outer || outer.end !== session.length) {
		return undefined;
	}

	for (let offset = outer.start; offset < outer.end;) {
		const field = element(session, offset, outer.end);
		if (!field) {
			return undefined;
		}

		if (field.tag === contextThree) {
			return certificateDerFacts(session, field.start, field.end);
		}

		offset = field.end;
	}

	return undefined;
}

/** The serial and SAN URIs of the certificate whose DER is `der[start, end)`; undefined when it cannot be read. */
export function certificateDerFacts(der: Buffer, start = 0, end = der.length): DerFacts | undefined {
	const certificate = expect(der, start, end, sequence);
	const tbs = certificate && expect(der, certificate.start, certificate.end, sequence);
	if (!certificate || certificate.end !== end || !tbs) {
		return undefined;
	}

	let field = element(der, tbs.start, tbs.end);
	if (field?.tag === contextZero) {
		field = element(der, field.end, tbs.end);
	}

	// A positive INTEGER, at least one byte (a negative serial is refused: node would print it with a sign).
	if (field?.tag !== integer || field.end === field.start || der[field.start]! >= 0x80) {
		return undefined;
	}

	const serial = hexWithoutLeadingZeros(der, field.start, field.end);
	// signature, issuer, validity, subject, subjectPublicKeyInfo: five SEQUENCEs, then optional unique IDs and extensions.
	let offset = field.end;
	for (let skipped = 0; skipped < 5; skipped++) {
		const next = expect(der, offset, tbs.end, sequence);
		if (!next) {
			return undefined;
		}

		offset = next.end;
	}

	let uris: string[] | undefined = [];
	while (offset < tbs.end) {
		const next = element(der, offset, tbs.end);
		if (!next) {
			return undefined;
		}

		if (next.tag === contextThree) {
			uris = extensionUris(der, next);
			if (!uris || next.end !== tbs.end) {
				return undefined;
			}
		}

		offset = next.end;
	}

	return {serial, uris};
}

/** The URIs of the one subjectAltName extension in `extensions` ([3] { SEQUENCE OF Extension }); [] with none, undefined with two or a malformed one. */
function extensionUris(der: Buffer, extensions: Element): string[] | undefined {
	const list = expect(der, extensions.start, extensions.end, sequence);
	if (!list || list.end !== extensions.end) {
		return undefined;
	}

	let uris: string[] | undefined;
	for (let offset = list.start; offset < list.end;) {
		const extension = expect(der, offset, list.end, sequence);
		const id = extension && expect(der, extension.start, extension.end, objectId);
		if (!extension || !id) {
			return undefined;
		}

		let value = element(der, id.end, extension.end);
		if (value?.tag === boolean) {
			value = element(der, value.end, extension.end);
		}

		if (value?.tag !== octetString || value.end !== extension.end) {
			return undefined;
		}

		if (isOid(der, id, sanOid)) {
			// Two SAN extensions: which one names the agent? None: refused.
			if (uris) {
				return undefined;
			}

			uris = generalNameUris(der, value);
			if (!uris) {
				return undefined;
			}
		}

		offset = extension.end;
	}

	return uris ?? [];
}

/** The uniformResourceIdentifier entries of GeneralNames (a SEQUENCE filling `value`), in order; other kinds of name skipped. */
function generalNameUris(der: Buffer, value: Element): string[] | undefined {
	const names = expect(der, value.start, value.end, sequence);
	if (!names || names.end !== value.end) {
		return undefined;
	}

	const uris: string[] = [];
	for (let offset = names.start; offset < names.end;) {
		const name = element(der, offset, names.end);
		if (!name) {
			return undefined;
		}

		if (name.tag === uriName) {
			// Byte for byte, as node's rendering gives an IA5String's bytes (sanUris undoes its escapes).
			uris.push(der.toString('latin1', name.start, name.end));
		}

		offset = name.end;
	}

	return uris;
}

function isOid(der: Buffer, id: Element, oid: readonly number[]): boolean {
	if (id.end - id.start !== oid.length) {
		return false;
	}

	for (let index = 0; index < oid.length; index++) {
		if (der[id.start + index] !== oid[index]) {
			return false;
		}
	}

	return true;
}

/** As normaliseSerial writes node's serialNumber: lowercase hex, no leading zeros (one digit at least). */
function hexWithoutLeadingZeros(der: Buffer, start: number, end: number): string {
	return der.toString('hex', start, end).replace(/^0+(?=.)/, '');
}
