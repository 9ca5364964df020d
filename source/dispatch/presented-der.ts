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
/** GeneralName's alternatives: [0], [3], [4], [5] constructed; [1], [2], [6], [7], [8] primitive. */
const generalNameTags = new Set([0xa0, 0x81, 0x82, 0xa3, 0xa4, 0xa5, 0x86, 0x87, 0x88]);

/**
 * Reads one element at a time: `read` leaves its tag and where its content starts and ends in
 * the reader's fields, so a walk makes one object, not one per element (a walk meets ~30).
 */
class DerReader {
	tag = 0;
	start = 0;
	end = 0;

	constructor(readonly der: Buffer) {}

	/** Whether the element last read has `tag`. */
	is(tag: number): boolean {
		return this.tag === tag;
	}

	/** The element at `offset`, wholly before `limit` (and with `tag`, when given); false when it is not valid DER there. */
	read(offset: number, limit: number, tag = -1): boolean {
		const {der} = this;
		if (offset + 2 > limit) {
			return false;
		}

		this.tag = der[offset]!;
		// High tag numbers (0x1f) appear nowhere the walk goes.
		if ((this.tag & 0x1f) === 0x1f || (tag !== -1 && this.tag !== tag)) {
			return false;
		}

		let length = der[offset + 1]!;
		let start = offset + 2;
		if (length > 0x80) {
			const count = length & 0x7f;
			if (count > 3 || start + count > limit || der[start] === 0) {
				return false;
			}

			length = 0;
			for (let index = 0; index < count; index++) {
				length = (length * 256) + der[start + index]!;
			}

			start += count;
			// Minimal: a long form only for lengths the short form cannot hold.
			if (length < 0x80) {
				return false;
			}
		} else if (length === 0x80) {
			// Indefinite length: BER, not DER.
			return false;
		}

		this.start = start;
		this.end = start + length;
		return this.end <= limit;
	}
}

/**
 * The serial and SAN URIs of the leaf certificate in an encoded SSL_SESSION (OpenSSL's
 * SSL_SESSION_ASN1, a SEQUENCE whose fields have distinct tags: `peer [3] EXPLICIT X509 OPTIONAL`).
 */
export function sessionPeerFacts(session: Buffer): DerFacts | undefined {
	const reader = new DerReader(session);
	if (!reader.read(0, session.length, sequence) || reader.end !== session.length) {
		return undefined;
	}

	const outerEnd = reader.end;
	for (let offset = reader.start; offset < outerEnd; offset = reader.end) {
		if (!reader.read(offset, outerEnd)) {
			return undefined;
		}

		if (reader.is(contextThree)) {
			return facts(reader, reader.start, reader.end);
		}
	}

	return undefined;
}

/** The serial and SAN URIs of the certificate whose DER is `der[start, end)`; undefined when it cannot be read. */
export function certificateDerFacts(der: Buffer, start = 0, end = der.length): DerFacts | undefined {
	return facts(new DerReader(der), start, end);
}

function facts(reader: DerReader, start: number, end: number): DerFacts | undefined {
	if (!reader.read(start, end, sequence) || reader.end !== end || !reader.read(reader.start, end, sequence)) {
		return undefined;
	}

	const tbsEnd = reader.end;
	if (!reader.read(reader.start, tbsEnd)) {
		return undefined;
	}

	if (reader.is(contextZero) && !reader.read(reader.end, tbsEnd)) {
		return undefined;
	}

	// A positive INTEGER, at least one byte (a negative serial is refused: node would print it with a sign).
	if (!reader.is(integer) || reader.end === reader.start || reader.der[reader.start]! >= 0x80) {
		return undefined;
	}

	// As normaliseSerial writes node's serialNumber: lowercase hex, no leading zeros (one digit at least).
	const serial = reader.der.toString('hex', reader.start, reader.end).replace(/^0+(?=.)/, '');
	// signature, issuer, validity, subject, subjectPublicKeyInfo: five SEQUENCEs, then optional unique IDs and extensions.
	for (let skipped = 0; skipped < 5; skipped++) {
		if (!reader.read(reader.end, tbsEnd, sequence)) {
			return undefined;
		}
	}

	let uris: string[] | undefined = [];
	for (let offset = reader.end; offset < tbsEnd; offset = reader.end) {
		if (!reader.read(offset, tbsEnd)) {
			return undefined;
		}

		if (reader.is(contextThree)) {
			if (reader.end !== tbsEnd) {
				return undefined;
			}

			uris = extensionUris(reader, reader.start, reader.end);
			if (!uris) {
				return undefined;
			}
		}
	}

	return {serial, uris};
}

/** The URIs of the one subjectAltName extension in `[start, end)` (the SEQUENCE OF Extension); [] with none, undefined with two or a malformed one. */
function extensionUris(reader: DerReader, start: number, end: number): string[] | undefined {
	if (!reader.read(start, end, sequence) || reader.end !== end) {
		return undefined;
	}

	const {der} = reader;
	let uris: string[] | undefined;
	for (let offset = reader.start; offset < end;) {
		if (!reader.read(offset, end, sequence)) {
			return undefined;
		}

		const extensionEnd = reader.end;
		if (!reader.read(reader.start, extensionEnd, objectId)) {
			return undefined;
		}

		// 2.5.29.17, subjectAltName.
		const san = reader.end - reader.start === 3 && der[reader.start] === 0x55 && der[reader.start + 1] === 0x1d && der[reader.start + 2] === 0x11;
		if (!reader.read(reader.end, extensionEnd)) {
			return undefined;
		}

		if (reader.is(boolean) && !reader.read(reader.end, extensionEnd)) {
			return undefined;
		}

		if (!reader.is(octetString) || reader.end !== extensionEnd) {
			return undefined;
		}

		if (san) {
			// Two SAN extensions: which one names the agent? None: refused.
			if (uris) {
				return undefined;
			}

			uris = generalNameUris(reader, reader.start, reader.end);
			if (!uris) {
				return undefined;
			}
		}

		offset = extensionEnd;
	}

	return uris ?? [];
}

/** The uniformResourceIdentifier entries of GeneralNames (a SEQUENCE filling `[start, end)`), in order; other kinds of name skipped. */
function generalNameUris(reader: DerReader, start: number, end: number): string[] | undefined {
	if (!reader.read(start, end, sequence) || reader.end !== end) {
		return undefined;
	}

	const uris: string[] = [];
	for (let offset = reader.start; offset < end; offset = reader.end) {
		// Only GeneralName's CHOICE: an element of any other tag is a SAN OpenSSL cannot decode (node shows none).
		if (!reader.read(offset, end) || !generalNameTags.has(reader.tag)) {
			return undefined;
		}

		if (reader.is(uriName)) {
			// Byte for byte, as node's rendering gives an IA5String's bytes (sanUris undoes its escapes).
			uris.push(reader.der.toString('latin1', reader.start, reader.end));
		}
	}

	return uris;
}
