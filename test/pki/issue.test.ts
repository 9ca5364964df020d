import test from 'ava';
import {X509Certificate} from 'node:crypto';
import {identityOf} from '../../source/pki/identity.js';
import {issueCertificate, randomSerial, validityDays} from '../../source/pki/issue.js';
import {generateKeyPair} from '../../source/pki/keys.js';
import {normaliseSerial} from '../../source/pki/fingerprints.js';
import {x509} from '../../source/pki/x509.js';
import {der, mint, mintAuthority, now} from './mint.js';

const day = 24 * 60 * 60 * 1000;
const ca = await mintAuthority();

/** The extended key usages as a plain array, or undefined without the extension. */
function usagesOf(certificate: x509.X509Certificate): string[] | undefined {
	const extension = certificate.getExtension(x509.ExtendedKeyUsageExtension);
	return extension ? Array.from(extension.usages, String) : undefined;
}

test('randomSerial is 128 bits with one hex spelling', t => {
	for (let round = 0; round < 200; round++) {
		const serial = randomSerial();
		t.regex(serial, /^[1-7][0-9a-f]{31}$/);
		t.is(normaliseSerial(serial), serial);
	}
});

test('the CA is a CA, valid from five minutes before now', t => {
	const basic = ca.certificate.getExtension(x509.BasicConstraintsExtension);
	t.true(basic?.ca);
	t.is(basic?.pathLength, 0);
	t.is(ca.certificate.notBefore.toISOString(), '2026-01-15T11:55:00.000Z');
	t.is(ca.certificate.notAfter.getTime(), now.getTime() + (validityDays.ca * day));
});

const usages: Array<{role: 'controller' | 'server' | 'audit'; usages: string[] | undefined}> = [
	{role: 'controller', usages: [x509.ExtendedKeyUsage.clientAuth]},
	{role: 'server', usages: [x509.ExtendedKeyUsage.serverAuth]},
	{role: 'audit', usages: undefined},
];

for (const c of usages) {
	test(`a ${c.role} certificate names its role and only its usages`, async t => {
		const certificate = await mint(ca, {role: c.role});
		t.deepEqual(identityOf(certificate), {ok: true, identity: {role: c.role}});
		t.deepEqual(usagesOf(certificate), c.usages);
		t.is(certificate.notAfter.getTime(), now.getTime() + (validityDays[c.role] * day));
	});
}

test('an agent certificate serves and calls, for 90 days, and is signed by the CA', async t => {
	const certificate = await mint(ca, {role: 'agent', name: 'web1'});
	t.deepEqual(identityOf(certificate), {ok: true, identity: {role: 'agent', name: 'web1'}});
	t.deepEqual(usagesOf(certificate), [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]);
	t.false(certificate.getExtension(x509.BasicConstraintsExtension)?.ca);
	t.is(certificate.notBefore.toISOString(), '2026-01-15T11:55:00.000Z');
	t.is(certificate.notAfter.toISOString(), '2026-04-15T12:00:00.000Z');
	t.true(new X509Certificate(der(certificate)).verify(new X509Certificate(der(ca.certificate)).publicKey));
});

test('a certificate never outlives its CA', async t => {
	const keys = await generateKeyPair();
	const certificate = await issueCertificate({ca, publicKey: keys.publicKey, identity: {role: 'controller'}, now, days: validityDays.ca + 100});
	t.is(certificate.notAfter.getTime(), ca.certificate.notAfter.getTime());
});

test('notAfter wins over days, and the serial can be chosen', async t => {
	const keys = await generateKeyPair();
	const notAfter = new Date('2026-01-15T12:01:00.000Z');
	const certificate = await issueCertificate({ca, publicKey: keys.publicKey, identity: {role: 'server'}, now, days: 30, notAfter, serial: '1234abcd', dnsNames: ['controller.example'], ipAddresses: ['10.0.0.1']});
	t.is(certificate.notAfter.toISOString(), notAfter.toISOString());
	t.is(normaliseSerial(certificate.serialNumber), '1234abcd');
	const names = certificate.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON();
	t.deepEqual(names, [{type: 'url', value: 'xi-exec:server'}, {type: 'dns', value: 'controller.example'}, {type: 'ip', value: '10.0.0.1'}]);
});
