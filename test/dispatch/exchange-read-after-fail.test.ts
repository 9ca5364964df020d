/** A direct TLS exchange that onFrame failed hands no later line of the same chunk on (a renewal must not issue for a CSR that follows a frame that failed it). */
import {createServer} from 'node:tls';
import type {AddressInfo} from 'node:net';
import test from 'ava';
import {createTlsContext, exchangeTls} from '../../source/dispatch/tls-link.js';
import {createCertificateAuthority, issueCertificate} from '../../source/pki/issue.js';
import {generateKeyPair, privateKeyToPem} from '../../source/pki/keys.js';
import type {Identity} from '../../source/pki/identity-uri.js';

const now = new Date();
async function mint() {
	const keys = await generateKeyPair();
	return {certificate: await createCertificateAuthority({keys, now}), privateKey: keys.privateKey};
}

async function holder(ca: Awaited<ReturnType<typeof mint>>, identity: Identity) {
	const keys = await generateKeyPair();
	const certificate = await issueCertificate({ca, publicKey: keys.publicKey, identity, now});
	return {certificate: certificate.toString('pem'), key: await privateKeyToPem(keys.privateKey)};
}

test('a frame after the one whose onFrame failed the exchange, in the same write, is not handed on', async t => {
	const fleet = await mint();
	const ca = fleet.certificate.toString('pem');
	const controller = await holder(fleet, {role: 'controller'});
	const web1 = await holder(fleet, {role: 'agent', name: 'web1'});
	const id = '00000000-0000-4000-8000-000000000009';
	const server = createServer({key: web1.key, cert: web1.certificate, ca: [ca], requestCert: true, minVersion: 'TLSv1.3'}, socket => {
		socket.once('data', () => {
			// Two frames in one write: the first makes the caller fail the exchange.
			socket.write(`${JSON.stringify({v: 1, type: 'stdout', id, data: 'first\n'})}\n${JSON.stringify({v: 1, type: 'stdout', id, data: 'second\n'})}\n`);
		});
		socket.on('error', () => undefined);
	});
	await new Promise<void>(resolve => {
		server.listen(0, '127.0.0.1', resolve);
	});
	t.teardown(() => server.close());
	const seen: string[] = [];
	const end = await exchangeTls({name: 'web1', address: `127.0.0.1:${(server.address() as AddressInfo).port}`}, {type: 'run', id, script: 'x', args: [], caller: 'alice'} as never, {
		context: {tls: createTlsContext({key: controller.key, cert: controller.certificate, ca})},
		connectTimeoutMs: 5000,
		deadlineMs: 5000,
		onFrame(frame, _reply, fail) {
			seen.push(frame.type === 'stdout' ? frame.data.trim() : frame.type);
			fail('unexpected frame');
		},
	});
	t.like(end, {kind: 'protocol', reason: 'unexpected frame'});
	t.deepEqual(seen, ['first']);
});
