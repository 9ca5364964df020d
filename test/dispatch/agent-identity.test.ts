/**
 * The controller's check of an agent's identity at the handshake, over real TLS on 127.0.0.1: a
 * table of certificates from a test CA (the right agent, another agent, another role, two URIs, a
 * URI that smuggles a second entry in after a comma, no URI, no SAN at all, a revoked serial),
 * each asserting the exact refusal `dialAgent` gives. And for each, the serial and identity read
 * from the object node hands checkServerIdentity are the ones a parse of the certificate's own DER
 * bytes gives (certificateFacts, what the check read before): the cheaper reading decides alike.
 */
import type {AddressInfo} from 'node:net';
import {connect, createServer, type PeerCertificate, type TLSSocket} from 'node:tls';
import test from 'ava';
import {checkAgentIdentity, createTlsContext, dialAgent, presentedBy, presentedIdentity} from '../../source/dispatch/agent-identity.js';
import {certificateFacts} from '../../source/pki/certificate-facts.js';
import {createCertificateAuthority, generateKeyPair, issueCertificate, normaliseSerial, privateKeyToPem, randomSerial, x509, type CertificateAuthority} from '../../source/pki/index.js';
import {keyAlgorithm} from '../../source/pki/x509.js';

type Minted = {key: string; cert: string; serial: string};

let fleet: {ca: CertificateAuthority; caPem: string; controller: Minted} | undefined;

test.before(async () => {
	const keys = await generateKeyPair();
	const ca = {certificate: await createCertificateAuthority({keys, now: new Date()}), privateKey: keys.privateKey};
	const controllerKeys = await generateKeyPair();
	const controller = await issueCertificate({ca, publicKey: controllerKeys.publicKey, identity: {role: 'controller'}, now: new Date()});
	fleet = {ca, caPem: ca.certificate.toString('pem'), controller: {key: await privateKeyToPem(controllerKeys.privateKey), cert: controller.toString('pem'), serial: normaliseSerial(controller.serialNumber)}};
});

/** A server certificate from the test CA with exactly these SAN entries (none: no SAN extension). */
async function mintServer(names: x509.JsonGeneralNames | undefined): Promise<Minted> {
	const {ca} = fleet!;
	const keys = await generateKeyPair();
	const serial = randomSerial();
	const certificate = await x509.X509CertificateGenerator.create({
		serialNumber: serial,
		subject: 'CN=web1',
		issuer: ca.certificate.subject,
		notBefore: new Date(Date.now() - 60_000),
		notAfter: new Date(Date.now() + 86_400_000),
		signingAlgorithm: keyAlgorithm,
		publicKey: keys.publicKey,
		signingKey: ca.privateKey,
		extensions: [
			new x509.BasicConstraintsExtension(false, undefined, true),
			new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
			new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
			...(names ? [new x509.SubjectAlternativeNameExtension(names)] : []),
		],
	});
	return {key: await privateKeyToPem(keys.privateKey), cert: certificate.toString('pem'), serial: normaliseSerial(serial)};
}

/** A TLS server presenting `server` on 127.0.0.1:0 that answers nothing; closed after the test. */
async function serve(t: {teardown: (fn: () => void) => void}, server: Minted): Promise<number> {
	const listener = createServer({key: server.key, cert: server.cert, ca: [fleet!.caPem], requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3'}, socket => {
		socket.on('error', () => undefined);
	});
	await new Promise<void>(resolve => {
		listener.listen(0, '127.0.0.1', resolve);
	});
	t.teardown(() => listener.close());
	return (listener.address() as AddressInfo).port;
}

function clientContext() {
	const {caPem, controller} = fleet!;
	return createTlsContext({ca: caPem, key: controller.key, cert: controller.cert});
}

/** What dialAgent makes of the connection: accepted (with what it kept for the socket), or its refusal. */
async function dial(port: number, name: string, revoked?: ReadonlySet<string>): Promise<{accepted: true; kept: unknown} | {accepted: false; reason: string}> {
	const socket = dialAgent({host: '127.0.0.1', port}, clientContext(), name, revoked);
	return new Promise(resolve => {
		socket.once('secureConnect', () => {
			const kept = presentedBy(socket);
			socket.destroy();
			resolve({accepted: true, kept});
		});
		socket.once('error', (error: Error) => {
			socket.destroy();
			resolve({accepted: false, reason: error.message});
		});
	});
}

/** The certificate object node hands checkServerIdentity for `port`'s server. */
async function handedToCheck(port: number): Promise<PeerCertificate> {
	return new Promise((resolve, reject) => {
		let seen: PeerCertificate | undefined;
		const socket: TLSSocket = connect({host: '127.0.0.1', port, secureContext: clientContext(), minVersion: 'TLSv1.3', checkServerIdentity(_host, certificate) {
			seen = certificate;
			return undefined;
		}});
		socket.once('secureConnect', () => {
			socket.destroy();
			resolve(seen!);
		});
		socket.once('error', reject);
	});
}

const agentUri = (name: string) => ({type: 'url' as const, value: `xi-exec:agent/${name}`});

type Case = {title: string; names: x509.JsonGeneralNames | undefined; revoke?: true; refusal: ((server: Minted) => string) | undefined};

const cases: Case[] = [
	{title: 'the agent meant', names: [agentUri('web1')], refusal: undefined},
	{title: 'the agent meant, beside a DNS name and an IP address', names: [{type: 'dns', value: 'web1.example'}, agentUri('web1'), {type: 'ip', value: '127.0.0.1'}], refusal: undefined},
	{title: 'another agent', names: [agentUri('web2')], refusal: () => 'the agent presented xi-exec:agent/web2, expected xi-exec:agent/web1'},
	{title: 'the controller\'s role', names: [{type: 'url', value: 'xi-exec:controller'}], refusal: () => 'the agent presented xi-exec:controller, expected xi-exec:agent/web1'},
	{title: 'two identities', names: [agentUri('web1'), agentUri('web2')], refusal: () => 'certificate must name exactly one xi-exec identity in a SAN URI; it has 2'},
	{title: 'a URI that writes a second entry after a comma', names: [{type: 'url', value: 'xi-exec:agent/x, URI:xi-exec:agent/web1'}], refusal: () => 'SAN URI "xi-exec:agent/x, URI:xi-exec:agent/web1" is not an xi-exec identity'},
	{title: 'a URI with a quote and a non-ASCII name', names: [{type: 'url', value: 'xi-exec:agent/wéb1"'}], refusal: () => 'SAN URI "xi-exec:agent/wéb1\\"" is not an xi-exec identity'},
	{title: 'a name in upper case', names: [agentUri('WEB1')], refusal: () => 'SAN URI "xi-exec:agent/WEB1" is not an xi-exec identity'},
	{title: 'a DNS name only', names: [{type: 'dns', value: 'web1'}], refusal: () => 'certificate must name exactly one xi-exec identity in a SAN URI; it has 0'},
	{title: 'no SAN extension at all', names: undefined, refusal: () => 'certificate must name exactly one xi-exec identity in a SAN URI; it has 0'},
	{title: 'the agent meant, with a revoked serial', names: [agentUri('web1')], revoke: true, refusal: server => `the agent presented certificate serial ${server.serial}, which is revoked`},
];

for (const c of cases) {
	test(`dialAgent to web1, presented ${c.title}: ${c.refusal ? 'refused' : 'accepted'}`, async t => {
		const server = await mintServer(c.names);
		const port = await serve(t, server);
		const revoked = new Set(c.revoke ? [server.serial, 'AB'] : ['AB']);

		const handed = await handedToCheck(port);
		const facts = certificateFacts(handed.raw)!;
		t.deepEqual(presentedIdentity(handed), {serial: facts.serial, identity: facts.identity}, 'node\'s certificate object and the DER bytes must say the same');
		t.is(facts.serial, server.serial);

		const dialled = await dial(port, 'web1', revoked);
		const refusal = c.refusal?.(server);
		if (refusal === undefined) {
			t.deepEqual(dialled, {accepted: true, kept: {serial: server.serial, identity: {ok: true, identity: {role: 'agent', name: 'web1'}}}});
		} else {
			t.deepEqual(dialled, {accepted: false, reason: refusal});
		}
	});
}

test('a certificate object without a serial is refused as unreadable, and so is a socket with nothing kept', t => {
	t.is(presentedIdentity(undefined), undefined);
	t.is(presentedIdentity({serialNumber: '', subjectaltname: 'URI:xi-exec:agent/web1'}), undefined);
	t.is(checkAgentIdentity('web1', undefined, undefined)?.message, 'the agent certificate cannot be parsed');
	t.deepEqual(presentedIdentity({serialNumber: '0A1B', subjectaltname: 'URI:"unterminated'}), {serial: normaliseSerial('0A1B'), identity: {ok: false, reason: 'the certificate\'s subject alternative names cannot be read'}});
});

test('dialAgent hands its check the leaf alone (not the chain node asks for), and the socket has node\'s own method again once secure', async t => {
	const server = await mintServer([agentUri('web1')]);
	const port = await serve(t, server);
	const socket = dialAgent({host: '127.0.0.1', port}, clientContext(), 'web1', undefined);
	t.true(Object.hasOwn(socket, 'getPeerCertificate'), 'the cheaper reading is in place for node\'s call at the handshake');
	await new Promise(resolve => socket.once('secureConnect', resolve));
	t.teardown(() => socket.destroy());
	t.false(Object.hasOwn(socket, 'getPeerCertificate'));
	const detailed = socket.getPeerCertificate(true);
	t.is(detailed.issuerCertificate.subject.CN, fleet!.ca.certificate.subjectName.getField('CN')[0]);
	const {issuerCertificate: _chain, ...leaf} = detailed;
	t.deepEqual(socket.getPeerCertificate(false), leaf as typeof detailed, 'the leaf alone is the chain\'s first certificate');
	t.deepEqual(presentedBy(socket), {serial: server.serial, identity: {ok: true, identity: {role: 'agent', name: 'web1'}}});
});
