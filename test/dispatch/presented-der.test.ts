/**
 * The DER walk dialAgent's identity check reads (presented-der.ts): on certificates of many shapes
 * it gives the serial and SAN URIs node's own parse gives (X509Certificate's serialNumber and its
 * SAN rendering read by sanUris, what certificateFacts reads); on anything not DER where it walks
 * (every truncation, every single byte changed, lengths too long, not minimal, indefinite) it
 * answers nothing or the same facts, and never throws; two SAN extensions and a negative serial
 * are refused.
 */
import {X509Certificate} from 'node:crypto';
import test from 'ava';
import {certificateDerFacts, sessionPeerFacts} from '../../source/dispatch/presented-der.js';
import {sanUris} from '../../source/pki/certificate-facts.js';
import {generateKeyPair, normaliseSerial, x509} from '../../source/pki/index.js';
import {keyAlgorithm} from '../../source/pki/x509.js';

let keys: CryptoKeyPair | undefined;

test.before(async () => {
	keys = await generateKeyPair();
});

/** A self-signed certificate (the walk checks no signature) with this serial and these extensions. */
async function mint(serialNumber: string, extensions: x509.Extension[]): Promise<Buffer> {
	const certificate = await x509.X509CertificateGenerator.create({
		serialNumber,
		subject: 'CN=web1',
		issuer: 'CN=test CA',
		notBefore: new Date(Date.now() - 60_000),
		notAfter: new Date(Date.now() + 86_400_000),
		signingAlgorithm: keyAlgorithm,
		publicKey: keys!.publicKey,
		signingKey: keys!.privateKey,
		extensions,
	});
	return Buffer.from(certificate.rawData);
}

/** What node's parse says: the serial as normaliseSerial writes it and the URIs of its SAN rendering. */
function nodeFacts(der: Buffer): {serial: string; uris: string[] | undefined} {
	const certificate = new X509Certificate(der);
	return {serial: normaliseSerial(certificate.serialNumber), uris: sanUris(certificate.subjectAltName)};
}

/** An encoded SSL_SESSION as OpenSSL writes it for a TLS 1.3 client at the handshake, around `certificate`. */
function session(certificate: Buffer): Buffer {
	const tlv = (tag: number, content: Buffer) => {
		const length = content.length < 0x80 ? Buffer.from([content.length]) : content.length < 0x100 ? Buffer.from([0x81, content.length]) : Buffer.from([0x82, content.length >> 8, content.length & 0xff]);
		return Buffer.concat([Buffer.from([tag]), length, content]);
	};

	const fields = Buffer.from('020101020203040402130204000400a10602046b175aeda20402021c20', 'hex');
	return tlv(0x30, Buffer.concat([fields, tlv(0xa3, certificate), Buffer.from('a4020400', 'hex')]));
}

const uri = (value: string) => ({type: 'url' as const, value});
const san = (names: x509.JsonGeneralNames, critical = false) => new x509.SubjectAlternativeNameExtension(names, critical);
const basics = [new x509.BasicConstraintsExtension(false, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)];

const shapes: Array<{title: string; serial: string; extensions: () => x509.Extension[]}> = [
	{title: 'an agent certificate as issued', serial: '14e95b32fee201efc1edf0fe00d09792', extensions: () => [...basics, new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]), san([uri('xi-exec:agent/web1')])]},
	{title: 'a one-byte serial', serial: '05', extensions: () => [san([uri('xi-exec:agent/web1')])]},
	{title: 'a serial whose first byte has its high bit (a 00 before it)', serial: '0080ff', extensions: () => [san([uri('xi-exec:agent/web1')])]},
	{title: 'a serial with leading zero digits', serial: '000a', extensions: () => [san([uri('xi-exec:agent/web1')])]},
	{title: 'a 20-byte serial', serial: '7f'.repeat(20), extensions: () => [san([uri('xi-exec:agent/web1')])]},
	{title: 'a critical SAN', serial: '11', extensions: () => [san([uri('xi-exec:agent/web1')], true)]},
	{title: 'URIs among other kinds of name', serial: '12', extensions: () => [san([{type: 'dns', value: 'web1.example'}, uri('xi-exec:agent/web1'), {type: 'ip', value: '10.0.0.1'}, {type: 'email', value: 'a@b.example'}, uri('https://example.com/x'), {type: 'dn', value: 'CN=x'}, {type: 'upn', value: 'a@b'}, {type: 'id', value: '1.2.3.4'}])]},
	{title: 'a URI with a comma, a quote and a backslash', serial: '13', extensions: () => [san([uri('xi-exec:agent/x, URI:"\\y')])]},
	{title: 'a URI with control characters', serial: '14', extensions: () => [san([uri('xi-exec:agent/\u0001\n\u007f')])]},
	{title: 'a URI with non-ASCII letters', serial: '15', extensions: () => [san([uri('xi-exec:agent/wéb1ü')])]},
	{title: 'an empty URI', serial: '16', extensions: () => [san([uri('')])]},
	{title: 'a long URI (a long-form length)', serial: '17', extensions: () => [san([uri(`xi-exec:agent/${'a'.repeat(300)}`)])]},
	{title: 'a DNS name only', serial: '18', extensions: () => [san([{type: 'dns', value: 'web1'}])]},
	{title: 'no SAN extension', serial: '19', extensions: () => basics},
	{title: 'no extensions at all', serial: '1a', extensions: () => []},
];

for (const shape of shapes) {
	test(`${shape.title}: the walk says what node's parse says, in the certificate and in a session`, async t => {
		const der = await mint(shape.serial, shape.extensions());
		const expected = nodeFacts(der);
		t.not(expected.uris, undefined, 'node\'s rendering is one sanUris reads');
		t.deepEqual(certificateDerFacts(der), expected);
		t.deepEqual(sessionPeerFacts(session(der)), expected);
	});
}

test('two SAN extensions are refused (node would read the first alone)', async t => {
	const der = await mint('20', [san([uri('xi-exec:agent/web1')]), san([uri('xi-exec:agent/web2')])]);
	t.is(certificateDerFacts(der), undefined);
	t.is(sessionPeerFacts(session(der)), undefined);
});

test('a name in the SAN that is no GeneralName (a tag outside the CHOICE) is refused: node cannot read that SAN', async t => {
	const der = await mint('21', [san([{type: 'dns', value: 'web1.example'}, uri('xi-exec:agent/web1')])]);
	t.deepEqual(certificateDerFacts(der), {serial: '21', uris: ['xi-exec:agent/web1']});
	// dNSName [2] (82 0c "web1.example") made [APPLICATION 0] (40), then universal OCTET STRING (04) and [9] (89): not a GeneralName.
	const at = der.indexOf(Buffer.concat([Buffer.from([0x82, 0x0c]), Buffer.from('web1.example')]));
	for (const tag of [0x40, 0x04, 0x89]) {
		const odd = Buffer.from(der);
		odd[at] = tag;
		t.is(new X509Certificate(odd).subjectAltName ?? null, null, 'node has no SAN to show');
		t.is(certificateDerFacts(odd), undefined, `tag ${tag.toString(16)}`);
		t.is(sessionPeerFacts(session(odd)), undefined);
	}
});

test('a negative serial is refused', async t => {
	const der = await mint('7f', [san([uri('xi-exec:agent/web1')])]);
	t.deepEqual(certificateDerFacts(der), {serial: '7f', uris: ['xi-exec:agent/web1']});
	// The generator writes no negative serial: its one byte (INTEGER 02 01 7f, the first in the certificate) made 0x80.
	const at = der.indexOf(Buffer.from([0x02, 0x01, 0x7f]));
	const negative = Buffer.from(der);
	negative[at + 2] = 0x80;
	t.is(certificateDerFacts(negative), undefined);
});

test('every truncation of a session, and of its certificate, is refused without throwing', async t => {
	const der = await mint('14e95b32fee201efc1edf0fe00d09792', [...basics, san([uri('xi-exec:agent/web1')])]);
	const whole = session(der);
	t.truthy(sessionPeerFacts(whole));
	for (let length = 0; length < whole.length; length++) {
		t.is(sessionPeerFacts(whole.subarray(0, length)), undefined, `truncated to ${length} bytes`);
	}

	for (let length = 0; length < der.length; length++) {
		t.is(certificateDerFacts(der.subarray(0, length)), undefined, `certificate truncated to ${length} bytes`);
	}
});

test('any one byte changed: facts of the same shape or none, never a throw; a change to the outer header is always refused', async t => {
	const der = await mint('14e95b32fee201efc1edf0fe00d09792', [...basics, san([uri('xi-exec:agent/web1')])]);
	const whole = session(der);
	for (let index = 0; index < whole.length; index++) {
		for (const flip of [0x01, 0x80, 0xff]) {
			const changed = Buffer.from(whole);
			changed[index]! ^= flip;
			let facts: ReturnType<typeof sessionPeerFacts>;
			t.notThrows(() => {
				facts = sessionPeerFacts(changed);
			});
			if (facts === undefined) {
				continue;
			}

			t.true(index >= 4, `byte ${index} ^ ${flip}: the session's own tag and length`);
			t.true(typeof facts.serial === 'string' && /^[\da-f]+$/.test(facts.serial) && facts.uris.every(each => typeof each === 'string'), `byte ${index} ^ ${flip}`);
		}
	}
});

test('lengths that are not DER are refused: indefinite, not minimal, past the end, trailing bytes', async t => {
	const der = await mint('21', [san([uri('xi-exec:agent/web1')])]);
	const whole = session(der);
	t.truthy(sessionPeerFacts(whole));
	// The outer SEQUENCE's length (82 xx xx) written in three bytes, or as indefinite.
	t.is(whole[1], 0x82);
	t.is(sessionPeerFacts(Buffer.concat([Buffer.from([0x30, 0x83, 0x00]), whole.subarray(2)])), undefined, 'a long form with a leading zero byte');
	t.is(sessionPeerFacts(Buffer.concat([Buffer.from([0x30, 0x80]), whole.subarray(4), Buffer.from([0, 0])])), undefined, 'indefinite length');
	t.is(sessionPeerFacts(Buffer.concat([whole, Buffer.from([0])])), undefined, 'a byte after the session');
	t.is(sessionPeerFacts(Buffer.from([0x30, 0x81, 0x05, 0x02, 0x01, 0x01])), undefined, 'a length past the end');
	t.is(sessionPeerFacts(Buffer.from([0x30, 0x81, 0x03, 0x02, 0x01, 0x01])), undefined, 'a short length in the long form');
	t.is(sessionPeerFacts(Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01])), undefined, 'no peer certificate');
});
