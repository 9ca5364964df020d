/**
 * The controller's check of an agent's identity at the handshake, over real TLS on 127.0.0.1: a
 * table of certificates from a test CA (the right agent, another agent, another role, two URIs, a
 * URI that smuggles a second entry in after a comma, no URI, no SAN at all, a revoked serial),
 * each asserting the exact refusal `dialAgent` gives. And for each, the serial and identity read
 * from the connection's TLS session at the handshake (presentedInSession: what dialAgent's check
 * reads) are the ones node's parse of the certificate's DER bytes gives (certificateFacts, over
 * node's X509Certificate and its SAN rendering): the cheaper reading decides alike.
 */
import type {AddressInfo} from 'node:net';
import {connect, createServer, TLSSocket, type PeerCertificate} from 'node:tls';
import test from 'ava';
import {checkAgentIdentity, createTlsContext, dialAgent, presentedBy, presentedInSession} from '../../source/dispatch/agent-identity.js';
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

/** For `port`'s server: node's certificate object handed to checkServerIdentity, and the connection's TLS session then. */
async function handedToCheck(port: number): Promise<{certificate: PeerCertificate; session: Buffer | undefined}> {
	return new Promise((resolve, reject) => {
		let seen: {certificate: PeerCertificate; session: Buffer | undefined} | undefined;
		const socket: TLSSocket = connect({host: '127.0.0.1', port, secureContext: clientContext(), minVersion: 'TLSv1.3', checkServerIdentity(_host, certificate) {
			seen = {certificate, session: socket.getSession()};
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
		const facts = certificateFacts(handed.certificate.raw)!;
		t.deepEqual(presentedInSession(handed.session), {serial: facts.serial, identity: facts.identity}, 'the session\'s bytes and node\'s parse of the certificate must say the same');
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

test('a session that cannot be read is refused as unreadable, and so is a socket with nothing kept', t => {
	t.is(presentedInSession(undefined), undefined);
	t.is(presentedInSession(Buffer.alloc(0)), undefined);
	t.is(presentedInSession(Buffer.from('300a020101020203040402130204', 'hex')), undefined, 'a session with no peer certificate');
	t.is(checkAgentIdentity('web1', undefined, undefined)?.message, 'the agent certificate cannot be parsed');
});

test('dialAgent\'s check reads the session: node\'s own reading of the certificate is never made at the handshake, and the socket has node\'s method again once secure', async t => {
	const server = await mintServer([agentUri('web1')]);
	const port = await serve(t, server);
	const nodes = Object.getOwnPropertyDescriptor(TLSSocket.prototype, 'getPeerCertificate')!;
	let reads = 0;
	let socket: TLSSocket | undefined;
	// Counted for this socket alone: other tests' connections are made meanwhile.
	Object.defineProperty(TLSSocket.prototype, 'getPeerCertificate', {...nodes, value(this: TLSSocket, ...args: unknown[]) {
		reads += this === socket ? 1 : 0;
		return Reflect.apply(nodes.value as () => unknown, this, args);
	}});
	try {
		socket = dialAgent({host: '127.0.0.1', port}, clientContext(), 'web1', undefined);
		t.true(Object.hasOwn(socket, 'getPeerCertificate'), 'node\'s call at the handshake is shadowed');
		await new Promise(resolve => socket!.once('secureConnect', resolve));
	} finally {
		Object.defineProperty(TLSSocket.prototype, 'getPeerCertificate', nodes);
	}

	t.teardown(() => socket!.destroy());
	t.is(reads, 0, 'node\'s getPeerCertificate was called at the handshake');
	t.false(Object.hasOwn(socket, 'getPeerCertificate'));
	const detailed = socket.getPeerCertificate(true);
	t.is(detailed.issuerCertificate.subject.CN, fleet!.ca.certificate.subjectName.getField('CN')[0], 'the chain is still there to read');
	t.is(normaliseSerial(detailed.serialNumber), server.serial);
	t.deepEqual(presentedBy(socket), {serial: server.serial, identity: {ok: true, identity: {role: 'agent', name: 'web1'}}});
});
