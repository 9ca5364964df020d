import test from 'ava';
import {createCsr, verifyCsr, type CsrCheck} from '../../source/pki/csr.js';
import {identityUri, type Identity} from '../../source/pki/identity.js';
import {generateKeyPair} from '../../source/pki/keys.js';
import {keyAlgorithm, subtle, x509} from '../../source/pki/x509.js';
import {mint, mintAuthority} from './mint.js';

const web1: Identity = {role: 'agent', name: 'web1'};
const keys = await generateKeyPair();
const good = await createCsr(keys, web1);

const pem = (der: Buffer) => x509.PemConverter.encode(new Uint8Array(der).buffer, 'CERTIFICATE REQUEST');

/** The CSR of `keys` with another key's SubjectPublicKeyInfo put in place of its own. */
async function withSwappedKey(): Promise<string> {
	const other = await generateKeyPair();
	const own = Buffer.from(await subtle.exportKey('spki', keys.publicKey));
	const theirs = Buffer.from(await subtle.exportKey('spki', other.publicKey));
	const bytes = Buffer.from(new Uint8Array(good.rawData)); // a copy: Buffer.from(arrayBuffer) would share it
	const at = bytes.indexOf(own);
	if (at === -1 || own.length !== theirs.length) {
		throw new Error('could not find the key in the CSR');
	}

	theirs.copy(bytes, at);
	return pem(bytes);
}

/** The CSR with the last byte of its signature changed. */
function withBrokenSignature(): string {
	const bytes = Buffer.from(new Uint8Array(good.rawData)); // a copy: Buffer.from(arrayBuffer) would share it
	bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0x01, bytes.length - 1);
	return pem(bytes);
}

async function csrWith(options: {algorithm?: EcKeyGenParams | RsaHashedKeyGenParams; signing?: Algorithm | EcdsaParams | RsaHashedImportParams; names?: x509.JsonGeneralNames}): Promise<string> {
	const pair = options.algorithm ? await subtle.generateKey(options.algorithm, true, ['sign', 'verify']) as CryptoKeyPair : keys;
	const csr = await x509.Pkcs10CertificateRequestGenerator.create({
		name: 'CN=web1',
		keys: pair,
		signingAlgorithm: options.signing ?? keyAlgorithm,
		extensions: options.names ? [new x509.SubjectAlternativeNameExtension(options.names)] : [],
	});
	return csr.toString('pem');
}

const ca = await mintAuthority();

const refusals: Array<{title: string; pem: string; expected?: Identity; check: CsrCheck}> = [
	{title: 'text that is not a CSR', pem: 'hello', check: {ok: false, reason: 'the CSR is not a PKCS#10 request'}},
	{title: 'a certificate instead of a CSR', pem: (await mint(ca, web1)).toString('pem'), check: {ok: false, reason: 'the CSR is not a PKCS#10 request'}},
	{title: 'a CSR whose key is not the one that signed it', pem: await withSwappedKey(), check: {ok: false, reason: 'the CSR signature does not match its key (no proof of possession)'}},
	{title: 'a CSR whose signature was altered', pem: withBrokenSignature(), check: {ok: false, reason: 'the CSR signature does not match its key (no proof of possession)'}},
	{
		title: 'a P-384 key (wrong curve)',
		pem: await csrWith({algorithm: {name: 'ECDSA', namedCurve: 'P-384'}, signing: {name: 'ECDSA', hash: 'SHA-384'}, names: [{type: 'url', value: 'xi-exec:agent/web1'}]}),
		check: {ok: false, reason: 'the CSR key must be ECDSA P-256'},
	},
	{
		title: 'an RSA key',
		pem: await csrWith({algorithm: {name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256'}, signing: {name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256'}, names: [{type: 'url', value: 'xi-exec:agent/web1'}]}),
		check: {ok: false, reason: 'the CSR key must be ECDSA P-256'},
	},
	{title: 'a CSR for another agent\'s name', pem: (await createCsr(keys, {role: 'agent', name: 'web2'})).toString('pem'), check: {ok: false, reason: 'the CSR asks for xi-exec:agent/web2, not xi-exec:agent/web1'}},
	{title: 'a CSR for the controller\'s identity', pem: (await createCsr(keys, {role: 'controller'})).toString('pem'), check: {ok: false, reason: 'the CSR asks for xi-exec:controller, not xi-exec:agent/web1'}},
	{title: 'a CSR with no SAN URI', pem: await csrWith({}), check: {ok: false, reason: 'certificate must name exactly one xi-exec identity in a SAN URI; it has 0'}},
	{
		title: 'a CSR with two SAN URIs',
		pem: await csrWith({names: [{type: 'url', value: 'xi-exec:agent/web1'}, {type: 'url', value: 'xi-exec:controller'}]}),
		check: {ok: false, reason: 'certificate must name exactly one xi-exec identity in a SAN URI; it has 2'},
	},
	{
		title: 'a CSR for the reserved name all',
		pem: await csrWith({names: [{type: 'url', value: 'xi-exec:agent/all'}]}),
		expected: {role: 'agent', name: 'all'},
		check: {ok: false, reason: 'SAN URI "xi-exec:agent/all" is not an xi-exec identity'},
	},
];

for (const c of refusals) {
	test(`verifyCsr refuses ${c.title}`, async t => {
		t.deepEqual(await verifyCsr(c.pem, c.expected ?? web1), c.check);
	});
}

test('verifyCsr accepts the agent\'s own CSR and returns its public key', async t => {
	const check = await verifyCsr(good.toString('pem'), web1);
	if (!check.ok) {
		t.fail(check.reason);
		return;
	}

	const spki = Buffer.from(await subtle.exportKey('spki', keys.publicKey));
	t.deepEqual(Buffer.from(check.csr.publicKey.rawData), spki);
	t.is(identityUri(web1), 'xi-exec:agent/web1');
});
