/**
 * What an agent accepts as its renewed certificate: only one the pinned fleet CA issued for this
 * agent's name and for the key it made on this connection, valid now. Each refusal is exact, and
 * leaves a `cert.renewal-refused` record with the same reason; nothing is installed.
 */
import test from 'ava';
import {finishRenewal, startRenewal, type CertificatePorts} from '../../agent/certificate-frames.js';
import {issueCertificate} from '../../source/pki/issue.js';
import {generateKeyPair} from '../../source/pki/keys.js';
import {x509} from '../../source/pki/x509.js';
import {mint, mintAuthority, now} from '../pki/mint.js';

type Recorded = {event: string; fields: Record<string, unknown>};

async function fixture() {
	const ca = await mintAuthority();
	const current = await mint(ca, {role: 'agent', name: 'web1'});
	const recorded: Recorded[] = [];
	const installed: Array<{key: string; cert: string}> = [];
	const ports: CertificatePorts = {
		agentName: 'web1',
		credentials: () => ({key: 'unused', cert: current.toString('pem'), ca: ca.certificate.toString('pem')}),
		install: next => installed.push(next),
		forget() {},
		stop() {},
		pins: () => ({caSha256: 'x', controllerSerials: ['a']}),
		savePins() {},
		recorder: {record: async (event, fields) => {
			recorded.push({event, fields});
		}, signedHead: () => undefined},
		now: () => now.getTime(),
	};
	const started = await startRenewal({v: 1, type: 'renew', id: 'req-00000001', msg: 'msg-00000001', ts: now.getTime(), caller: 'ctl'}, ports);
	const csr = new x509.Pkcs10CertificateRequest(JSON.parse(started.reply.line).csr as string);
	return {ca, ports, recorded, installed, pending: started.pending!, csr};
}

const frame = (certificate: string) => ({v: 1 as const, type: 'certificate' as const, id: 'req-00000001', msg: 'msg-00000002', ts: now.getTime(), certificate});

type Fixture = Awaited<ReturnType<typeof fixture>>;
const refusals: Array<{title: string; certificate: (f: Fixture) => Promise<string>; pending?: false; reason: string | RegExp}> = [
	{title: 'a certificate with no renewal started on the connection', certificate: async f => (await issueCertificate({ca: f.ca, publicKey: f.csr.publicKey, identity: {role: 'agent', name: 'web1'}, now})).toString('pem'), pending: false, reason: 'no renewal was started on this connection'},
	{title: 'a certificate for another key', certificate: async f => (await issueCertificate({ca: f.ca, publicKey: (await generateKeyPair()).publicKey, identity: {role: 'agent', name: 'web1'}, now})).toString('pem'), reason: 'the certificate is not for the key this agent just made'},
	{title: 'a certificate naming another agent', certificate: async f => (await issueCertificate({ca: f.ca, publicKey: f.csr.publicKey, identity: {role: 'agent', name: 'web2'}, now})).toString('pem'), reason: 'the certificate names xi-exec:agent/web2, not xi-exec:agent/web1'},
	{title: 'a certificate for the controller role', certificate: async f => (await issueCertificate({ca: f.ca, publicKey: f.csr.publicKey, identity: {role: 'controller'}, now})).toString('pem'), reason: 'the certificate names xi-exec:controller, not xi-exec:agent/web1'},
	{title: 'a certificate from a foreign CA', certificate: async f => (await issueCertificate({ca: await mintAuthority(), publicKey: f.csr.publicKey, identity: {role: 'agent', name: 'web1'}, now})).toString('pem'), reason: 'the agent certificate is not signed by the CA'},
	{title: 'an expired certificate', certificate: async f => (await issueCertificate({ca: f.ca, publicKey: f.csr.publicKey, identity: {role: 'agent', name: 'web1'}, now: new Date(now.getTime() - 86_400_000), notAfter: new Date(now.getTime() - 1000)})).toString('pem'), reason: /^the agent certificate is not valid now/},
	{title: 'a certificate not valid yet', certificate: async f => (await issueCertificate({ca: f.ca, publicKey: f.csr.publicKey, identity: {role: 'agent', name: 'web1'}, now: new Date(now.getTime() + 86_400_000)})).toString('pem'), reason: /^the agent certificate is not valid now/},
	{title: 'text that is not a certificate', certificate: async () => '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', reason: 'the certificate cannot be parsed'},
];

for (const c of refusals) {
	test(`refused: ${c.title}`, async t => {
		const f = await fixture();
		const reply = await finishRenewal(frame(await c.certificate(f)), c.pending === false ? undefined : f.pending, f.ports);
		const answer = JSON.parse(reply.line) as {type: string; code: string; message: string};
		t.is(answer.type, 'error');
		t.is(answer.code, 'forbidden');
		const reason = answer.message.replace(/^renewal refused: /, '');
		if (typeof c.reason === 'string') {
			t.is(reason, c.reason);
		} else {
			t.regex(reason, c.reason);
		}

		t.deepEqual(f.recorded.at(-1), {event: 'cert.renewal-refused', fields: {requestId: 'req-00000001', reason}});
		t.deepEqual(f.installed, []);
	});
}

test('accepted: the certificate the CA issued for the new key is installed, and recorded first', async t => {
	const f = await fixture();
	const issued = await issueCertificate({ca: f.ca, publicKey: f.csr.publicKey, identity: {role: 'agent', name: 'web1'}, now});
	const reply = JSON.parse((await finishRenewal(frame(issued.toString('pem')), f.pending, f.ports)).line) as Record<string, unknown>;
	t.is(reply['type'], 'renewed');
	t.is(f.installed.length, 1);
	t.is(f.installed[0]!.key, f.pending.keyPem);
	t.is(f.recorded.at(-1)?.event, 'cert.renewed');
	t.deepEqual(f.recorded.map(record => record.event), ['cert.renewal-started', 'cert.renewed']);
});
