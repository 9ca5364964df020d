/**
 * The controller's pairing listener against raw agents over real TLS on 127.0.0.1: a table of
 * protocol attacks (each asserting the listener's `refused` event and the `refused` frame the
 * client receives, with the same exact reason), then the re-pairing rules, the pending limits,
 * wrong codes, expiry (real timer and fake clock) and approval of one named request.
 */
import {randomBytes} from 'node:crypto';
import test from 'ava';
import {controllerPaths, openControllerRegistry} from '../../source/home.js';
import {codeHash} from '../../source/pairing/code.js';
import {encodePairing} from '../../source/pairing/messages.js';
import type {PairingEvent} from '../../source/pairing/listener.js';
import {addAgent, findAgent} from '../../source/registry/model.js';
import {certificateSha256, normaliseSerial, subtle, x509} from '../../source/pki/index.js';
import {createController} from '../helpers/fleet.js';
import {
	ceremonyToPending,
	connectPairingClient,
	expectFrame,
	makeAgentIdentity,
	openTestListener,
	prepareCommit,
	refusalSeen,
	sendCommit,
	type PairingClient,
	type TestListener,
} from '../helpers/pairing-peers.js';

type Context = {controllerHome: string; listener: TestListener};

async function fleetListener(overrides: Parameters<typeof openTestListener>[1] = {}): Promise<Context> {
	const controllerHome = await createController();
	return {controllerHome, listener: await openTestListener(controllerHome, overrides)};
}

function registerAgent(controllerHome: string, name: string, serial = 'aa01'): Promise<unknown> {
	return openControllerRegistry(controllerPaths(controllerHome)).update(registry => addAgent(registry, {
		name,
		address: '10.0.0.9:7441',
		tags: {site: 'paris'},
		serial,
		fingerprint: 'f'.repeat(64),
		certificateExpires: '2027-01-01T00:00:00.000Z',
		pairedAt: '2026-01-01T00:00:00.000Z',
	}));
}

/** A code other than `code`: the same digits, the last one moved on by one. */
function wrongCode(code: string): string {
	return code.slice(0, 5) + String((Number(code[5]) + 1) % 10);
}

/** A CSR whose signature no longer matches its key: the last byte of the signature flipped. */
async function csrWithBrokenSignature(name: string): Promise<string> {
	const {csr} = await makeAgentIdentity(name);
	const der = new Uint8Array(csr.rawData);
	der[der.length - 1]! ^= 0x01;
	return x509.PemConverter.encode(der.buffer, 'CERTIFICATE REQUEST');
}

/** A well-formed CSR for `name`, on a P-384 key. */
async function csrOnP384(name: string): Promise<string> {
	const keys = await subtle.generateKey({name: 'ECDSA', namedCurve: 'P-384'}, true, ['sign', 'verify']) as CryptoKeyPair;
	const csr = await x509.Pkcs10CertificateRequestGenerator.create({
		name: `CN=${name}`,
		keys,
		signingAlgorithm: {name: 'ECDSA', hash: 'SHA-384'},
		extensions: [new x509.SubjectAlternativeNameExtension([{type: 'url', value: `xi-exec:agent/${name}`}])],
	});
	return csr.toString('pem');
}

type Attack = {
	title: string;
	/** Run before the attacker connects (register a name, open another ceremony...). */
	prepare?: (context: Context) => Promise<void>;
	play: (client: PairingClient, context: Context) => Promise<void>;
	/** The agent named in the listener's `refused` event: null when refused before any commit was accepted. */
	agent: string | null;
	reason: string;
};

const attacks: Attack[] = [
	{
		title: 'a reveal that does not match the commit',
		async play(client) {
			await sendCommit(client, await makeAgentIdentity('web1'));
			await expectFrame(client, 'nonce');
			client.send({type: 'reveal', nonce: randomBytes(32).toString('hex')});
		},
		agent: 'web1',
		reason: 'the revealed nonce does not match the commitment',
	},
	{
		title: 'a commit and its reveal replayed into a second ceremony',
		async play(client, {listener}) {
			// The first ceremony, seen whole by the attacker, then abandoned so the name is free again.
			const first = await connectPairingClient(listener.address);
			const seen = await ceremonyToPending(first, await makeAgentIdentity('web1'));
			first.socket.destroy();
			await listener.events.find(event => event.event === 'refused' && event.ceremony === seen.hello.ceremony);

			const hello = await expectFrame(client, 'hello');
			if (hello.ceremony === seen.hello.ceremony) {
				throw new Error('two ceremonies got the same id');
			}

			client.send(seen.commit);
			await expectFrame(client, 'nonce');
			client.send({type: 'reveal', nonce: seen.agentNonce.toString('hex')});
		},
		agent: 'web1',
		reason: 'the revealed nonce does not match the commitment',
	},
	{
		title: 'a commit sent twice',
		async play(client) {
			const {commit} = await sendCommit(client, await makeAgentIdentity('web1'));
			await expectFrame(client, 'nonce');
			client.send(commit);
		},
		agent: 'web1',
		reason: 'out of order: got commit while expecting reveal',
	},
	{
		title: 'a commit sent twice in one write (handled one after the other)',
		async play(client) {
			const {commit} = prepareCommit(client, await expectFrame(client, 'hello'), await makeAgentIdentity('web1'));
			client.send(encodePairing(commit) + encodePairing(commit));
		},
		agent: 'web1',
		reason: 'out of order: got commit while expecting reveal',
	},
	{
		title: 'a reveal before the commit',
		async play(client) {
			await expectFrame(client, 'hello');
			client.send({type: 'reveal', nonce: randomBytes(32).toString('hex')});
		},
		agent: null,
		reason: 'out of order: got reveal while expecting commit',
	},
	{
		title: 'confirmed straight after the hello',
		async play(client) {
			await expectFrame(client, 'hello');
			client.send({type: 'confirmed'});
		},
		agent: null,
		reason: 'out of order: got confirmed while expecting commit',
	},
	{
		title: 'confirmed before the operator approved',
		async play(client) {
			await ceremonyToPending(client, await makeAgentIdentity('web1'));
			client.send({type: 'confirmed'});
		},
		agent: 'web1',
		reason: 'out of order: got confirmed while waiting for the operator',
	},
	{
		title: 'a reveal sent twice',
		async play(client) {
			const pending = await ceremonyToPending(client, await makeAgentIdentity('web1'));
			client.send({type: 'reveal', nonce: pending.agentNonce.toString('hex')});
		},
		agent: 'web1',
		reason: 'out of order: got reveal while waiting for the operator',
	},
	{
		title: 'a new commit after the approval',
		async play(client, {listener}) {
			const pending = await ceremonyToPending(client, await makeAgentIdentity('web1'));
			const approval = await listener.listener.approve('web1', pending.code);
			if (!approval.ok) {
				throw new Error(`the honest code was refused: ${approval.reason}`);
			}

			await expectFrame(client, 'approved');
			client.send(pending.commit);
		},
		agent: 'web1',
		reason: 'out of order: got commit while expecting confirmed',
	},
	{
		title: 'a controller message from the agent',
		async play(client) {
			const hello = await expectFrame(client, 'hello');
			client.send(encodePairing(hello));
		},
		agent: null,
		reason: 'bad pairing message: unknown pairing message "hello"',
	},
	{
		title: 'pairing protocol version 2',
		async play(client) {
			await expectFrame(client, 'hello');
			client.send(JSON.stringify({v: 2, type: 'confirmed'}) + '\n');
		},
		agent: null,
		reason: 'bad pairing message: pairing protocol version 2 is not supported',
	},
	{
		title: 'a frame over 64 KiB with no newline',
		async play(client) {
			await expectFrame(client, 'hello');
			client.send('x'.repeat(70 * 1024));
		},
		agent: null,
		reason: 'pairing frame too large',
	},
	{
		title: 'the agent declines',
		async play(client) {
			await expectFrame(client, 'hello');
			client.send({type: 'declined', reason: 'the CA is not the one I expected'});
		},
		agent: null,
		reason: 'declined on the agent: the CA is not the one I expected',
	},
	{
		title: 'a CSR for a different name than the commit\'s',
		async play(client) {
			await sendCommit(client, await makeAgentIdentity('web1', {csrIdentity: {role: 'agent', name: 'web2'}}));
		},
		agent: 'web1',
		reason: 'CSR refused: the CSR asks for xi-exec:agent/web2, not xi-exec:agent/web1',
	},
	{
		title: 'a CSR for the controller\'s identity',
		async play(client) {
			await sendCommit(client, await makeAgentIdentity('web1', {csrIdentity: {role: 'controller'}}));
		},
		agent: 'web1',
		reason: 'CSR refused: the CSR asks for xi-exec:controller, not xi-exec:agent/web1',
	},
	{
		title: 'a CSR whose signature does not match its key',
		async play(client) {
			const agent = await makeAgentIdentity('web1');
			await expectFrame(client, 'hello');
			client.send({type: 'commit', name: 'web1', address: agent.address, tags: agent.tags, csr: await csrWithBrokenSignature('web1'), commitment: 'a'.repeat(64)});
		},
		agent: 'web1',
		reason: 'CSR refused: the CSR signature does not match its key (no proof of possession)',
	},
	{
		title: 'a CSR on a P-384 key',
		async play(client) {
			await expectFrame(client, 'hello');
			client.send({type: 'commit', name: 'web1', address: '10.0.0.5:7441', tags: {}, csr: await csrOnP384('web1'), commitment: 'a'.repeat(64)});
		},
		agent: 'web1',
		reason: 'CSR refused: the CSR key must be ECDSA P-256',
	},
	{
		title: 'a CSR that is not PKCS#10',
		async play(client) {
			await expectFrame(client, 'hello');
			client.send({type: 'commit', name: 'web1', address: '10.0.0.5:7441', tags: {}, csr: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----', commitment: 'a'.repeat(64)});
		},
		agent: 'web1',
		reason: 'CSR refused: the CSR is not a PKCS#10 request',
	},
	{
		title: 'the reserved name all',
		async play(client) {
			await sendCommit(client, await makeAgentIdentity('all'));
		},
		agent: 'all',
		reason: 'agent name "all" is not valid',
	},
	{
		title: 'a name in upper case',
		async play(client) {
			await sendCommit(client, await makeAgentIdentity('Web1'));
		},
		agent: 'Web1',
		reason: 'agent name "Web1" is not valid',
	},
	{
		title: 'an address that is not HOST:PORT',
		async play(client) {
			await sendCommit(client, await makeAgentIdentity('web1', {address: 'nowhere'}));
		},
		agent: 'web1',
		reason: 'agent address "nowhere" is not HOST:PORT',
	},
	{
		title: 'a tag key in upper case',
		async play(client) {
			await sendCommit(client, await makeAgentIdentity('web1', {tags: {Site: 'london'}}));
		},
		agent: 'web1',
		reason: 'proposed tags refused: tag key "Site" must match ^[a-z0-9][a-z0-9._-]{0,62}$',
	},
	{
		title: 'a tag value with a newline',
		async play(client) {
			await sendCommit(client, await makeAgentIdentity('web1', {tags: {site: 'lon\ndon'}}));
		},
		agent: 'web1',
		reason: `proposed tags refused: tag ${JSON.stringify('site=lon\ndon')} contains a control character`,
	},
	{
		title: 'a name already paired (no --replace)',
		async prepare({controllerHome}) {
			await registerAgent(controllerHome, 'web1');
		},
		async play(client) {
			await sendCommit(client, await makeAgentIdentity('web1'));
		},
		agent: 'web1',
		reason: 'web1 is already paired; unpair it, or run `xi-exec pair --replace` to pair it again',
	},
	{
		title: 'a second request for a name already pending',
		async prepare({listener}) {
			const first = await connectPairingClient(listener.address);
			await ceremonyToPending(first, await makeAgentIdentity('web1'));
		},
		async play(client) {
			await sendCommit(client, await makeAgentIdentity('web1'));
		},
		agent: 'web1',
		reason: 'a pairing request for web1 is already pending',
	},
];

for (const attack of attacks) {
	test(`pairing attack refused: ${attack.title}`, async t => {
		const context = await fleetListener();
		t.teardown(async () => context.listener.listener.close());
		await attack.prepare?.(context);
		const registry = openControllerRegistry(controllerPaths(context.controllerHome));
		const before = await registry.read();
		const client = await connectPairingClient(context.listener.address);
		await attack.play(client, context);

		const seen = await refusalSeen(client);
		const hello = client.inbox.all.find(received => received.type === 'hello');
		const ceremony = hello?.type === 'hello' ? hello.ceremony : 'no hello';
		const refused = await context.listener.events.find(event => event.event === 'refused' && event.ceremony === ceremony);
		t.deepEqual(refused, {event: 'refused', agent: attack.agent, ceremony, source: '127.0.0.1', reason: attack.reason});
		t.is(seen, attack.reason);
		await client.closed;
		t.false(context.listener.events.all.some(event => event.event === 'paired'));
		t.deepEqual(await registry.read(), before);
	});
}

test('an honest raw agent pairs, which is what makes the refusals above mean something', async t => {
	const {controllerHome, listener} = await fleetListener();
	t.teardown(async () => listener.listener.close());
	const client = await connectPairingClient(listener.address);
	const agent = await makeAgentIdentity('web1', {tags: {site: 'london', role: 'web'}});
	const pending = await ceremonyToPending(client, agent);

	const request = await listener.request('web1');
	t.deepEqual(Object.keys(request).sort(), ['address', 'agent', 'ceremony', 'event', 'expires', 'fingerprint', 'source', 'tags'], 'a request carries no code');
	t.like(request, {agent: 'web1', address: '10.0.0.5:7441', source: '127.0.0.1', tags: {site: 'london', role: 'web'}, ceremony: pending.hello.ceremony, expires: pending.hello.expires});
	t.deepEqual(listener.listener.pending().map(view => view.agent), ['web1']);

	const spaced = `${pending.code.slice(0, 3)} ${pending.code.slice(3)}`;
	t.deepEqual(await listener.listener.approve('web1', `${pending.code.slice(0, 3)}-${pending.code.slice(3)}`), {ok: true, agent: 'web1', agentCode: spaced, controllerCode: spaced});
	const approved = await expectFrame(client, 'approved');
	const certificate = new x509.X509Certificate(approved.certificate);
	t.is(Buffer.from(certificate.publicKey.rawData).toString('hex'), Buffer.from(agent.csr.publicKey.rawData).toString('hex'));
	const approvedEvent = await listener.events.find(event => event.event === 'approved');
	t.deepEqual(approvedEvent, {event: 'approved', agent: 'web1', ceremony: pending.hello.ceremony, serial: normaliseSerial(certificate.serialNumber), codeHash: codeHash(pending.hello.ceremony, pending.code)});

	client.send({type: 'confirmed'});
	await expectFrame(client, 'paired');
	const paired = await listener.paired('web1');
	t.deepEqual(paired, {event: 'paired', agent: 'web1', ceremony: pending.hello.ceremony, serial: normaliseSerial(certificate.serialNumber), address: '10.0.0.5:7441', tags: {site: 'london', role: 'web'}});
	const record = findAgent(await openControllerRegistry(controllerPaths(controllerHome)).read(), 'web1');
	t.like(record, {name: 'web1', address: '10.0.0.5:7441', tags: {site: 'london', role: 'web'}, serial: normaliseSerial(certificate.serialNumber), fingerprint: certificateSha256(certificate)});
	t.is(record?.certificate, certificate.toString('pem'), 'the registry keeps the certificate: `audit verify --cross` checks the agent\'s checkpoints with it');
	t.is(await refusalSeen(client), 'closed without a refusal');
});

test('with --replace a name already paired is paired again, and its record replaced', async t => {
	const {controllerHome, listener} = await fleetListener({replace: true});
	t.teardown(async () => listener.listener.close());
	await registerAgent(controllerHome, 'web1', 'aa01');
	const client = await connectPairingClient(listener.address);
	const pending = await ceremonyToPending(client, await makeAgentIdentity('web1'));
	t.true((await listener.listener.approve('web1', pending.code)).ok);
	const certificate = new x509.X509Certificate((await expectFrame(client, 'approved')).certificate);
	client.send({type: 'confirmed'});
	await expectFrame(client, 'paired');

	const registry = await openControllerRegistry(controllerPaths(controllerHome)).read();
	t.is(registry.agents.length, 1);
	t.like(registry.agents[0], {name: 'web1', address: '10.0.0.5:7441', tags: {site: 'london'}, serial: normaliseSerial(certificate.serialNumber)});
});

test('a second request for a pending name leaves the first one to be approved', async t => {
	const {listener} = await fleetListener();
	t.teardown(async () => listener.listener.close());
	const first = await connectPairingClient(listener.address);
	const pending = await ceremonyToPending(first, await makeAgentIdentity('web1'));
	const second = await connectPairingClient(listener.address);
	await sendCommit(second, await makeAgentIdentity('web1'));
	t.is(await refusalSeen(second), 'a pairing request for web1 is already pending');
	t.true((await listener.listener.approve('web1', pending.code)).ok);
	await expectFrame(first, 'approved');
});

test('three wrong codes end the ceremony, and the right code afterwards approves nothing', async t => {
	const {listener} = await fleetListener();
	t.teardown(async () => listener.listener.close());
	const client = await connectPairingClient(listener.address);
	const pending = await ceremonyToPending(client, await makeAgentIdentity('web1'));
	const wrong = wrongCode(pending.code);

	t.deepEqual(await listener.listener.approve('web1', wrong), {ok: false, reason: 'does not match (2 tries left)'});
	t.deepEqual(await listener.listener.approve('web1', `${wrong.slice(0, 3)} ${wrong.slice(3)}`), {ok: false, reason: 'does not match (1 try left)'});
	t.deepEqual(await listener.listener.approve('web1', 'not a code'), {ok: false, reason: 'does not match; that was the last try, the request from web1 is refused'});
	t.deepEqual(await listener.listener.approve('web1', pending.code), {ok: false, reason: 'no pairing request from web1 is waiting for approval'});

	const reason = 'wrong code entered 3 times; the request from web1 is refused';
	t.is(await refusalSeen(client), reason);
	t.like(await listener.refused('web1'), {ceremony: pending.hello.ceremony, reason});
	const wrongCodes = listener.events.all.filter(event => event.event === 'wrong-code');
	t.deepEqual(wrongCodes, [
		{event: 'wrong-code', agent: 'web1', ceremony: pending.hello.ceremony, triesLeft: 2, codeHash: codeHash(pending.hello.ceremony, wrong)},
		{event: 'wrong-code', agent: 'web1', ceremony: pending.hello.ceremony, triesLeft: 1, codeHash: codeHash(pending.hello.ceremony, wrong)},
		{event: 'wrong-code', agent: 'web1', ceremony: pending.hello.ceremony, triesLeft: 0, codeHash: codeHash(pending.hello.ceremony, 'notacode')},
	]);
	t.false(listener.events.all.some(event => event.event === 'approved'));
	t.deepEqual(listener.listener.pending(), []);
});

test('approval is of one named request: another request\'s code does not approve it', async t => {
	const {listener} = await fleetListener();
	t.teardown(async () => listener.listener.close());
	const web1 = await connectPairingClient(listener.address);
	const web2 = await connectPairingClient(listener.address);
	const [one, two] = await Promise.all([ceremonyToPending(web1, await makeAgentIdentity('web1')), ceremonyToPending(web2, await makeAgentIdentity('web2'))]);
	t.not(one.code, two.code, 'the two codes collided (one chance in 10^6)');

	t.deepEqual(await listener.listener.approve('web1', two.code), {ok: false, reason: 'does not match (2 tries left)'});
	t.deepEqual(await listener.listener.approve('web2', one.code), {ok: false, reason: 'does not match (2 tries left)'});
	t.deepEqual(await listener.listener.approve('web3', one.code), {ok: false, reason: 'no pairing request from web3 is waiting for approval'});
	t.true((await listener.listener.approve('web2', two.code)).ok);
	t.true((await listener.listener.approve('web1', one.code)).ok);
	const [approvedOne, approvedTwo] = [await expectFrame(web1, 'approved'), await expectFrame(web2, 'approved')];
	t.not(approvedOne.certificate, approvedTwo.certificate);
});

test('a code approved twice at once issues one certificate', async t => {
	const {listener} = await fleetListener();
	t.teardown(async () => listener.listener.close());
	const client = await connectPairingClient(listener.address);
	const pending = await ceremonyToPending(client, await makeAgentIdentity('web1'));
	const approvals = await Promise.all([listener.listener.approve('web1', pending.code), listener.listener.approve('web1', pending.code)]);
	t.deepEqual(approvals.map(approval => approval.ok).sort(), [false, true]);
	t.deepEqual(approvals.find(approval => !approval.ok), {ok: false, reason: 'no pairing request from web1 is waiting for approval'});
	t.is(listener.events.all.filter(event => event.event === 'approved').length, 1);
	await expectFrame(client, 'approved');
	client.send({type: 'confirmed'});
	await expectFrame(client, 'paired');
});

test('the operator rejects a named request', async t => {
	const {listener} = await fleetListener();
	t.teardown(async () => listener.listener.close());
	const client = await connectPairingClient(listener.address);
	const pending = await ceremonyToPending(client, await makeAgentIdentity('web1'));
	t.false(listener.listener.reject('web2'));
	t.true(listener.listener.reject('web1'));
	t.is(await refusalSeen(client), 'rejected by the operator');
	t.like(await listener.refused('web1'), {ceremony: pending.hello.ceremony, reason: 'rejected by the operator'});
	t.deepEqual(await listener.listener.approve('web1', pending.code), {ok: false, reason: 'no pairing request from web1 is waiting for approval'});
});

test('a ceremony left unanswered expires on its timer', async t => {
	const {listener} = await fleetListener({timeoutMs: 200});
	t.teardown(async () => listener.listener.close());
	const client = await connectPairingClient(listener.address);
	const hello = await expectFrame(client, 'hello');
	const reason = 'the pairing request timed out after 0.2 s';
	t.is(await refusalSeen(client), reason);
	t.deepEqual(await listener.refused(null), {event: 'refused', agent: null, ceremony: hello.ceremony, source: '127.0.0.1', reason});
});

test('with a fake clock: the hello says when the ceremony expires, and past it the right code is refused', async t => {
	let now = new Date();
	const {listener} = await fleetListener({timeoutMs: 60_000, now: () => now});
	t.teardown(async () => listener.listener.close());
	const start = now;
	const client = await connectPairingClient(listener.address);
	const pending = await ceremonyToPending(client, await makeAgentIdentity('web1'));
	t.is(pending.hello.expires, new Date(start.getTime() + 60_000).toISOString());

	now = new Date(start.getTime() + 60_000);
	const reason = 'the pairing request timed out after 60 s';
	t.deepEqual(await listener.listener.approve('web1', pending.code), {ok: false, reason});
	t.is(await refusalSeen(client), reason);
	t.like(await listener.refused('web1'), {ceremony: pending.hello.ceremony, reason});
	t.false(listener.events.all.some(event => event.event === 'approved'));
});

test('with a fake clock: just before expiry the right code still approves', async t => {
	let now = new Date();
	const {listener} = await fleetListener({timeoutMs: 60_000, now: () => now});
	t.teardown(async () => listener.listener.close());
	const start = now;
	const client = await connectPairingClient(listener.address);
	const pending = await ceremonyToPending(client, await makeAgentIdentity('web1'));
	now = new Date(start.getTime() + 59_999);
	t.true((await listener.listener.approve('web1', pending.code)).ok);
	await expectFrame(client, 'approved');
});

test('with a fake clock: a frame arriving after expiry ends the ceremony', async t => {
	let now = new Date();
	const {listener} = await fleetListener({timeoutMs: 60_000, now: () => now});
	t.teardown(async () => listener.listener.close());
	const client = await connectPairingClient(listener.address);
	await expectFrame(client, 'hello');
	now = new Date(now.getTime() + 61_000);
	client.send({type: 'confirmed'});
	t.is(await refusalSeen(client), 'the pairing request timed out after 60 s');
});

async function refusedAtOnce(client: PairingClient): Promise<string> {
	const first = await client.inbox.next();
	return first.type === 'refused' ? first.reason : `got ${first.type} first`;
}

test('at most 2 ceremonies in progress per source address', async t => {
	const {listener} = await fleetListener();
	t.teardown(async () => listener.listener.close());
	const [a, b] = [await connectPairingClient(listener.address), await connectPairingClient(listener.address)];
	await Promise.all([expectFrame(a, 'hello'), expectFrame(b, 'hello')]);
	const third = await connectPairingClient(listener.address);
	const reason = 'too many pairing requests from 127.0.0.1 (2); finish or cancel one first';
	t.is(await refusedAtOnce(third), reason);
	t.like(await listener.refused(null), {ceremony: null, source: '127.0.0.1', reason});

	const other = await connectPairingClient(listener.address, {localAddress: '127.0.0.2'});
	await expectFrame(other, 'hello');

	// One ends, and its slot is free again.
	a.socket.destroy();
	await listener.events.find(event => event.event === 'refused' && event.reason === 'the agent disconnected');
	const again = await connectPairingClient(listener.address);
	await expectFrame(again, 'hello');
	t.pass();
});

test('at most 8 ceremonies in progress in all', async t => {
	const {listener} = await fleetListener();
	t.teardown(async () => listener.listener.close());
	const clients: PairingClient[] = [];
	for (const source of ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4']) {
		for (let index = 0; index < 2; index++) {
			const client = await connectPairingClient(listener.address, {localAddress: source});
			await expectFrame(client, 'hello');
			clients.push(client);
		}
	}

	const ninth = await connectPairingClient(listener.address, {localAddress: '127.0.0.5'});
	const reason = 'too many pairing requests in progress (8); try again later';
	t.is(await refusedAtOnce(ninth), reason);
	t.like(await listener.refused(null), {ceremony: null, source: '127.0.0.5', reason});
	t.is(clients.length, 8);
});

test('a TLS 1.2 client is refused in the handshake', async t => {
	const {listener} = await fleetListener();
	t.teardown(async () => listener.listener.close());
	const error = await connectPairingClient(listener.address, {minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2'}).then(() => undefined, (error: NodeJS.ErrnoException) => error.code);
	t.is(error, 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
	const refused = await listener.events.find((event): event is Extract<PairingEvent, {event: 'refused'}> => event.event === 'refused');
	t.deepEqual(refused, {event: 'refused', agent: null, ceremony: null, source: '127.0.0.1', reason: 'TLS handshake failed (ERR_SSL_UNSUPPORTED_PROTOCOL); pairing needs TLS 1.3'});
});

test('closing the listener refuses every ceremony in progress', async t => {
	const {listener} = await fleetListener();
	const client = await connectPairingClient(listener.address);
	const pending = await ceremonyToPending(client, await makeAgentIdentity('web1'));
	await listener.listener.close();
	t.is(await refusalSeen(client), 'the pairing listener was closed');
	t.like(await listener.refused('web1'), {ceremony: pending.hello.ceremony, reason: 'the pairing listener was closed'});
	await t.throwsAsync(connectPairingClient(listener.address), {code: 'ECONNREFUSED'});
});

test('a relay grinding codes across ceremonies (dropping each after the nonce) is cut off per name', async t => {
	const {listener} = await fleetListener();
	t.teardown(async () => listener.listener.close());
	const drops = () => listener.events.all.filter(event => event.event === 'refused' && event.agent === 'web1' && event.reason === 'the agent disconnected').length;
	for (let attempt = 1; attempt <= 3; attempt++) {
		const client = await connectPairingClient(listener.address);
		await sendCommit(client, await makeAgentIdentity('web1'));
		await expectFrame(client, 'nonce');
		client.socket.destroy();
		// The controller sees each drop as a refused ceremony.
		await listener.events.find(() => drops() >= attempt);
	}

	const fourth = await connectPairingClient(listener.address);
	await sendCommit(fourth, await makeAgentIdentity('web1'));
	t.is(await refusalSeen(fourth), 'too many pairing attempts for web1 were abandoned before the code was fixed, which is what a man in the middle trying codes does; check the network path, then restart the pairing listener');

	// Another name still pairs.
	const honest = await connectPairingClient(listener.address);
	const pending = await ceremonyToPending(honest, await makeAgentIdentity('web2'));
	t.true((await listener.listener.approve('web2', pending.code)).ok);
});
