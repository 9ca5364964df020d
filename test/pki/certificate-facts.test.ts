/**
 * certificateFacts() reads what the identity checks need from a certificate's bytes; its public-key
 * digest is read on first use (the connection checks never use it), and must be the same digest,
 * read by a library we did not write (@peculiar/x509, via fingerprints.publicKeySha256), however
 * often and in whatever order it is asked, for the CA (whose digest is the pin) and for an agent.
 */
import {X509Certificate} from 'node:crypto';
import test from 'ava';
import {certificateFacts} from '../../source/pki/certificate-facts.js';
import {normaliseSerial, publicKeySha256} from '../../source/pki/fingerprints.js';
import {der, mint, mintAuthority} from './mint.js';

const ca = await mintAuthority();
const agent = await mint(ca, {role: 'agent', name: 'web1'});
const other = await mint(ca, {role: 'agent', name: 'web2'});
/** Only the last test reads this one's facts (the cache keeps facts per certificate). */
const unread = await mint(ca, {role: 'agent', name: 'web3'});

for (const [label, certificate] of [['the CA', ca.certificate], ['an agent', agent], ['another agent', other]] as const) {
	test(`certificate facts of ${label}: the public-key digest is the library's, read late and again`, t => {
		const bytes = der(certificate);
		const facts = certificateFacts(bytes);
		t.truthy(facts);
		t.is(facts!.serial, normaliseSerial(new X509Certificate(bytes).serialNumber));
		t.is(facts!.publicKeySha256, publicKeySha256(certificate));
		t.is(facts!.publicKeySha256, publicKeySha256(certificate), 'the same when read again');
		t.is(certificateFacts(Buffer.from(bytes))?.publicKeySha256, publicKeySha256(certificate), 'the same from the cache, for a copy of the bytes');
	});
}

test('certificate facts: the digests of two certificates differ, and bytes changed after the call do not change them', t => {
	const bytes = Buffer.from(der(unread));
	const expected = publicKeySha256(unread);
	const facts = certificateFacts(bytes);
	bytes.fill(0);
	t.is(facts?.publicKeySha256, expected);
	t.not(certificateFacts(der(agent))?.publicKeySha256, expected);
	t.is(certificateFacts(new Uint8Array([1, 2, 3])), undefined, 'not a certificate');
});
