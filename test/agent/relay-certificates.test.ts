/**
 * Certificate steps answered over the relay (agent/relay-certificates.ts), after the envelope was
 * accepted: what each sequence of frames gets back and what the agent's audit log holds. The
 * certificate's own checks are certificate-frames.test.ts's table; here, what the relay adds:
 * the renewal is held between two envelopes of one request id, and only for that id, one at a
 * time, for the idle timeout at most; the unpaired agent stops only after it answered.
 */
import {setTimeout as delay} from 'node:timers/promises';
import test from 'ava';
import type {CertificatePorts} from '../../agent/certificate-frames.js';
import type {CertificateFrame} from '../../agent/connection-rules.js';
import {relayCertificates} from '../../agent/relay-certificates.js';
import {issueCertificate} from '../../source/pki/issue.js';
import {x509} from '../../source/pki/x509.js';
import type {ReplyBody} from '../../source/protocol/relay-envelope.js';
import {mint, mintAuthority, now} from '../pki/mint.js';

type WithoutEnvelope = CertificateFrame extends infer F ? (F extends CertificateFrame ? Omit<F, 'v' | 'msg' | 'ts'> : never) : never;

async function fixture(idleTimeoutMs = 30_000) {
	const ca = await mintAuthority();
	const current = await mint(ca, {role: 'agent', name: 'web1'});
	const events: string[] = [];
	const installed: string[] = [];
	let pins = {caSha256: 'x', controllerSerials: ['aa']};
	const ports: CertificatePorts = {
		agentName: 'web1',
		credentials: () => ({key: 'unused', cert: current.toString('pem'), ca: ca.certificate.toString('pem')}),
		install: next => installed.push(next.cert),
		forget: () => events.push('forgot'),
		stop: () => events.push('stopped'),
		pins: () => pins,
		savePins(next) {
			pins = next;
		},
		recorder: {record: async event => {
			events.push(event);
		}, signedHead: () => undefined},
		now: () => now.getTime(),
	};
	const replies: ReplyBody[] = [];
	const logged: string[] = [];
	const handler = relayCertificates(ports, {log: (event, fields) => logged.push(`${event}: ${String(fields['reason'])}`), idleTimeoutMs});
	const send = async (frame: WithoutEnvelope) => {
		handler.handle({v: 1, msg: 'm'.repeat(16), ts: now.getTime(), ...frame} as CertificateFrame, body => {
			replies.push(body);
			events.push(`reply ${body.type}`);
		});
		await handler.settled();
		return replies.at(-1)!;
	};

	const issueFor = async (csrPem: string) => {
		const csr = new x509.Pkcs10CertificateRequest(csrPem);
		return (await issueCertificate({ca, publicKey: csr.publicKey, identity: {role: 'agent', name: 'web1'}, now})).toString('pem');
	};

	return {send, issueFor, events, installed, logged, pins: () => pins};
}

const csrOf = (reply: ReplyBody) => (reply.type === 'csr' ? reply.csr : '');

test('renew, then the certificate under the same request id: installed, answered renewed', async t => {
	const f = await fixture();
	const csr = await f.send({type: 'renew', id: 'renew-0000001', caller: 'alice'});
	t.is(csr.type, 'csr');
	const renewed = await f.send({type: 'certificate', id: 'renew-0000001', certificate: await f.issueFor(csrOf(csr))});
	t.like(renewed, {type: 'renewed', id: 'renew-0000001'});
	t.is(f.installed.length, 1);
	t.deepEqual(f.events, ['cert.renewal-started', 'reply csr', 'cert.renewed', 'reply renewed']);
});

const refusals: Array<{title: string; steps: (f: Awaited<ReturnType<typeof fixture>>) => Promise<ReplyBody>; reply: Record<string, unknown>; events: string[]}> = [
	{
		title: 'a certificate under another request id than the renewal',
		async steps(f) {
			const csr = await f.send({type: 'renew', id: 'renew-0000001', caller: 'alice'});
			return f.send({type: 'certificate', id: 'renew-0000002', certificate: await f.issueFor(csrOf(csr))});
		},
		reply: {type: 'error', id: 'renew-0000002', code: 'forbidden', message: 'renewal refused: no renewal was started on this connection'},
		events: ['cert.renewal-started', 'reply csr', 'cert.renewal-refused', 'reply error'],
	},
	{
		title: 'a certificate with no renewal at all',
		async steps(f) {
			return f.send({type: 'certificate', id: 'renew-0000003', certificate: 'x'});
		},
		reply: {type: 'error', id: 'renew-0000003', code: 'forbidden', message: 'renewal refused: no renewal was started on this connection'},
		events: ['cert.renewal-refused', 'reply error'],
	},
	{
		title: 'a second renewal while one waits for its certificate',
		async steps(f) {
			await f.send({type: 'renew', id: 'renew-0000001', caller: 'alice'});
			return f.send({type: 'renew', id: 'renew-0000004', caller: 'mallory'});
		},
		reply: {type: 'error', id: 'renew-0000004', code: 'busy', message: 'a renewal of this agent is already in progress'},
		events: ['cert.renewal-started', 'reply csr', 'reply error'],
	},
	{
		title: 'the same certificate twice: the second finds no renewal',
		async steps(f) {
			const csr = await f.send({type: 'renew', id: 'renew-0000001', caller: 'alice'});
			const certificate = await f.issueFor(csrOf(csr));
			await f.send({type: 'certificate', id: 'renew-0000001', certificate});
			return f.send({type: 'certificate', id: 'renew-0000001', certificate});
		},
		reply: {type: 'error', id: 'renew-0000001', code: 'forbidden', message: 'renewal refused: no renewal was started on this connection'},
		events: ['cert.renewal-started', 'reply csr', 'cert.renewed', 'reply renewed', 'cert.renewal-refused', 'reply error'],
	},
];

for (const c of refusals) {
	test(`refused: ${c.title}`, async t => {
		const f = await fixture();
		t.like(await c.steps(f), c.reply);
		t.deepEqual(f.events, c.events);
		t.true(f.installed.length <= 1);
	});
}

test('a renewal whose certificate does not come within the idle timeout is dropped', async t => {
	const f = await fixture(50);
	const csr = await f.send({type: 'renew', id: 'renew-0000005', caller: 'alice'});
	while (!f.logged.includes('protocol.error: no certificate after the CSR')) {
		await delay(10);
	}

	t.like(await f.send({type: 'certificate', id: 'renew-0000005', certificate: await f.issueFor(csrOf(csr))}), {type: 'error', message: 'renewal refused: no renewal was started on this connection'});
	t.deepEqual(f.installed, []);
});

test('pin adds the announced serial; unpair forgets, answers, and only then stops', async t => {
	const f = await fixture();
	t.like(await f.send({type: 'pin', id: 'pin-00000001', caller: 'alice', serial: 'BB'}), {type: 'pinned', serials: ['aa', 'bb']});
	t.deepEqual(f.pins().controllerSerials, ['aa', 'bb']);
	t.like(await f.send({type: 'unpair', id: 'unpair-000001', caller: 'alice'}), {type: 'unpaired'});
	t.deepEqual(f.events, ['controller.serial-announced', 'reply pinned', 'agent.unpaired', 'forgot', 'reply unpaired', 'stopped']);
});
