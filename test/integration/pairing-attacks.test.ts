/**
 * The agent's real pairing code (agent/pair-command.ts and agent/pair.ts, in this process, writing
 * into a real agent home) against the real listener, men in the middle and fake controllers, over
 * real TLS on 127.0.0.1. Each attack asserts its exact refusal on both sides (the listener's
 * `refused` event, the agent's `refused` line or outcome) and that the agent stored nothing.
 */
import test from 'ava';
import {pairWithController, type AgentPairingOptions, type PairingCode} from '../../agent/pair.js';
import {agentPaths} from '../../agent/home.js';
import {controllerPaths, loadCertificateAuthority, loadServerCredentials, openControllerRegistry} from '../../source/home.js';
import type {HostPort} from '../../source/io/address.js';
import type {PairingListenerOptions} from '../../source/pairing/listener.js';
import {addAgent, findAgent} from '../../source/registry/model.js';
import {generateKeyPair, issueCertificate, normaliseSerial, publicKeySha256, x509} from '../../source/pki/index.js';
import {readTextFile} from '../../source/io/files.js';
import {createController} from '../helpers/fleet.js';
import {
	ceremonyToPending,
	connectPairingClient,
	createAgentHome,
	makeAgentIdentity,
	makeForeignFleet,
	mintServerCredentials,
	openTestListener,
	pairAgent,
	startFakeController,
	startRelay,
	storedCredentials,
	type AgentRun,
	type FakeControllerOptions,
	type ForeignFleet,
	type TestListener,
} from '../helpers/pairing-peers.js';

type Context = {controllerHome: string; listener: TestListener; clock: {now: Date}};

async function fleetListener(overrides: Partial<PairingListenerOptions> = {}): Promise<Context> {
	const controllerHome = await createController();
	const clock = {now: new Date()};
	const listener = await openTestListener(controllerHome, {now: () => clock.now, ...overrides});
	return {controllerHome, listener, clock};
}

function registry(controllerHome: string) {
	return openControllerRegistry(controllerPaths(controllerHome));
}

/** The operator types `code` three times; each answer is checked. */
async function typeWrongCodeThrice(listener: TestListener, code: string): Promise<void> {
	const answers = [];
	for (let index = 0; index < 3; index++) {
		answers.push(await listener.listener.approve('web1', code));
	}

	const expected = ['does not match (2 tries left)', 'does not match (1 try left)', 'does not match; that was the last try, the request from web1 is refused'];
	if (JSON.stringify(answers) !== JSON.stringify(expected.map(reason => ({ok: false, reason})))) {
		throw new Error(`unexpected answers to the operator: ${JSON.stringify(answers)}`);
	}
}

type Attack = {
	title: string;
	listener?: Partial<PairingListenerOptions>;
	prepare?: (context: Context) => Promise<void>;
	/** Where the agent dials instead of the listener (a relay), and what to stop afterwards. */
	route?: (context: Context) => Promise<{address: HostPort; close: () => Promise<void>}>;
	/** The --ca-sha256 the agent is given; by default the real CA's. */
	caSha256?: (context: Context) => string;
	/** What the operator does on the controller while the agent waits. */
	operator?: (context: Context, agent: AgentRun) => Promise<void>;
	/** The agent named in the listener's `refused` event: null when refused before the commit. */
	refusedAgent: string | null;
	controllerReason: (context: Context) => string;
	agentReason: (context: Context) => string;
};

const relayMismatch = 'wrong code entered 3 times; the request from web1 is refused';

const attacks: Attack[] = [
	{
		title: 'a relay with a server certificate from the real CA, forwarding every frame',
		async route({controllerHome, listener}) {
			const ca = await loadCertificateAuthority(controllerPaths(controllerHome));
			return startRelay(listener.address, await mintServerCredentials(ca, {role: 'server'}), 'forward');
		},
		refusedAgent: 'web1',
		// The agent's transcript names the certificate it saw (the relay's): the controller's does not.
		controllerReason: () => 'the revealed nonce does not match the commitment',
		agentReason: () => 'refused by the controller: the revealed nonce does not match the commitment',
	},
	{
		title: 'a relay with a server certificate from the real CA that commits afresh for the controller\'s transcript',
		async route({controllerHome, listener}) {
			const ca = await loadCertificateAuthority(controllerPaths(controllerHome));
			return startRelay(listener.address, await mintServerCredentials(ca, {role: 'server'}), 'recommit');
		},
		async operator({listener}, agent) {
			await listener.request('web1');
			await typeWrongCodeThrice(listener, await agent.code());
		},
		refusedAgent: 'web1',
		controllerReason: () => relayMismatch,
		agentReason: () => `refused by the controller: ${relayMismatch}`,
	},
	{
		title: 'a relay holding the controller\'s own server key, forwarding every frame (only the exporter values differ)',
		async route({controllerHome, listener}) {
			return startRelay(listener.address, loadServerCredentials(controllerPaths(controllerHome)), 'forward');
		},
		async operator({listener}, agent) {
			await listener.request('web1');
			await typeWrongCodeThrice(listener, await agent.code());
		},
		refusedAgent: 'web1',
		controllerReason: () => relayMismatch,
		agentReason: () => `refused by the controller: ${relayMismatch}`,
	},
	{
		title: 'a relay with a certificate of its own, outside the fleet CA',
		async route({listener}) {
			const foreign = await makeForeignFleet();
			return startRelay(listener.address, foreign.server, 'forward');
		},
		refusedAgent: null,
		controllerReason: () => 'declined on the agent: the controller\'s hello is inconsistent: the server certificate is not signed by the CA',
		agentReason: () => 'the controller\'s hello is inconsistent: the server certificate is not signed by the CA',
	},
	{
		title: 'a hello whose CA does not match --ca-sha256',
		caSha256: () => 'ab'.repeat(32),
		refusedAgent: null,
		controllerReason: ({listener}) => `declined on the agent: the controller's CA (sha256 ${listener.caSha256}) is not the one given with --ca-sha256`,
		agentReason: ({listener}) => `the controller's CA (sha256 ${listener.caSha256}) is not the one given with --ca-sha256`,
	},
	{
		title: 'a name already paired, without --replace',
		async prepare({controllerHome}) {
			await registry(controllerHome).update(current => addAgent(current, {name: 'web1', address: '10.0.0.9:7441', tags: {}, serial: 'aa01', fingerprint: 'f'.repeat(64), certificateExpires: '2027-01-01T00:00:00.000Z', pairedAt: '2026-01-01T00:00:00.000Z'}));
		},
		refusedAgent: 'web1',
		controllerReason: () => 'web1 is already paired; unpair it, or run `xi-exec pair --replace` to pair it again',
		agentReason: () => 'refused by the controller: web1 is already paired; unpair it, or run `xi-exec pair --replace` to pair it again',
	},
	{
		title: 'a second request for a name already pending',
		async prepare({listener}) {
			// The identity (a key and a CSR) first: the listener's 10 s step deadline starts at the connection.
			const identity = await makeAgentIdentity('web1');
			await ceremonyToPending(await connectPairingClient(listener.address), identity);
		},
		refusedAgent: 'web1',
		controllerReason: () => 'a pairing request for web1 is already pending',
		agentReason: () => 'refused by the controller: a pairing request for web1 is already pending',
	},
	{
		title: 'three wrong codes, then the right one',
		async operator({listener}, agent) {
			await listener.request('web1');
			const code = await agent.code();
			await typeWrongCodeThrice(listener, code.slice(0, 5) + String((Number(code[5]) + 1) % 10));
			const late = await listener.listener.approve('web1', code);
			if (late.ok || late.reason !== 'no pairing request from web1 is waiting for approval') {
				throw new Error(`the right code after three wrong ones got ${JSON.stringify(late)}`);
			}
		},
		refusedAgent: 'web1',
		controllerReason: () => 'wrong code entered 3 times; the request from web1 is refused',
		agentReason: () => 'refused by the controller: wrong code entered 3 times; the request from web1 is refused',
	},
	{
		title: 'rejected by the operator',
		async operator({listener}) {
			await listener.request('web1');
			listener.listener.reject('web1');
		},
		refusedAgent: 'web1',
		controllerReason: () => 'rejected by the operator',
		agentReason: () => 'refused by the controller: rejected by the operator',
	},
	{
		title: 'an expired ceremony (fake clock), approved with the right code',
		listener: {timeoutMs: 300_000},
		async operator(context, agent) {
			await context.listener.request('web1');
			context.clock.now = new Date(context.clock.now.getTime() + 300_000);
			await context.listener.listener.approve('web1', await agent.code());
		},
		refusedAgent: 'web1',
		controllerReason: () => 'the pairing request timed out after 300 s',
		agentReason: () => 'refused by the controller: the pairing request timed out after 300 s',
	},
	{
		title: 'the listener closed while the agent waits for approval',
		async operator({listener}) {
			await listener.request('web1');
			await listener.listener.close();
		},
		refusedAgent: 'web1',
		controllerReason: () => 'the pairing listener was closed',
		agentReason: () => 'refused by the controller: the pairing listener was closed',
	},
];

for (const attack of attacks) {
	test(`the agent is not paired: ${attack.title}`, async t => {
		const context = await fleetListener(attack.listener);
		t.teardown(async () => context.listener.listener.close());
		await attack.prepare?.(context);
		const before = await registry(context.controllerHome).read();
		const route = await attack.route?.(context);
		t.teardown(async () => route?.close());
		const agentHome = createAgentHome('web1', 7441);
		const agent = pairAgent(agentHome, route?.address ?? context.listener.address, {caSha256: attack.caSha256?.(context) ?? context.listener.caSha256});
		await attack.operator?.(context, agent);

		t.is(await agent.done, 1);
		t.is(await agent.refusal(), attack.agentReason(context));
		const refused = await context.listener.refused(attack.refusedAgent);
		t.is(refused.reason, attack.controllerReason(context));
		t.deepEqual(storedCredentials(agentHome.home), [], 'the agent stored no key, certificate, CA or pins');
		t.deepEqual(await registry(context.controllerHome).read(), before);
		t.false(context.listener.events.all.some(event => event.event === 'approved' || event.event === 'paired'));
	});
}

test('the real agent pairs with the real listener: the control for the table above', async t => {
	const context = await fleetListener();
	t.teardown(async () => context.listener.listener.close());
	const agentHome = createAgentHome('web1', 7441, ['site=london', 'role=web']);
	const agent = pairAgent(agentHome, context.listener.address, {caSha256: context.listener.caSha256});
	const request = await context.listener.request('web1');
	t.like(request, {agent: 'web1', address: '127.0.0.1:7441', tags: {site: 'london', role: 'web'}});
	const code = await agent.code();
	t.regex(code, /^\d{6}$/);
	t.true((await context.listener.listener.approve('web1', code)).ok);
	t.is(await agent.done, 0);
	const paired = await agent.lines.find(line => line['event'] === 'paired');
	t.deepEqual(storedCredentials(agentHome.home).sort(), ['agent.key', 'ca.pem', 'agent.pem', 'pins.json'].sort());
	const paths = agentPaths(agentHome.home);
	const certificate = new x509.X509Certificate(readTextFile(paths.cert, 'cert'));
	const record = findAgent(await registry(context.controllerHome).read(), 'web1');
	t.is(record?.serial, normaliseSerial(certificate.serialNumber));
	t.is(paired['serial'], record?.serial);
	t.deepEqual(JSON.parse(readTextFile(paths.pins, 'pins')), {caSha256: context.listener.caSha256, controllerSerials: [paired['controllerSerial']]});
});

test('two agents pairing at once: each code approves only its own agent', async t => {
	const context = await fleetListener();
	t.teardown(async () => context.listener.listener.close());
	const homes = [createAgentHome('web1', 7441), createAgentHome('web2', 7442)];
	const [one, two] = homes.map(home => pairAgent(home, context.listener.address, {caSha256: context.listener.caSha256}));
	await Promise.all([context.listener.request('web1'), context.listener.request('web2')]);
	const [codeOne, codeTwo] = [await one!.code(), await two!.code()];
	t.not(codeOne, codeTwo, 'the two codes collided (one chance in 10^6)');

	t.deepEqual(await context.listener.listener.approve('web1', codeTwo), {ok: false, reason: 'does not match (2 tries left)'});
	t.deepEqual(await context.listener.listener.approve('web2', codeOne), {ok: false, reason: 'does not match (2 tries left)'});
	t.true((await context.listener.listener.approve('web1', codeOne)).ok);
	t.true((await context.listener.listener.approve('web2', codeTwo)).ok);
	t.deepEqual([await one!.done, await two!.done], [0, 0]);

	const fleet = await registry(context.controllerHome).read();
	for (const home of homes) {
		const certificate = new x509.X509Certificate(readTextFile(agentPaths(home.home).cert, 'cert'));
		t.is(findAgent(fleet, home.name)?.serial, normaliseSerial(certificate.serialNumber));
		t.is(findAgent(fleet, home.name)?.address, `127.0.0.1:${home.port}`);
	}
});

test('--replace pairs a name again: the registry holds the new certificate', async t => {
	const context = await fleetListener({replace: true});
	t.teardown(async () => context.listener.listener.close());
	await registry(context.controllerHome).update(current => addAgent(current, {name: 'web1', address: '10.0.0.9:7441', tags: {}, serial: 'aa01', fingerprint: 'f'.repeat(64), certificateExpires: '2027-01-01T00:00:00.000Z', pairedAt: '2026-01-01T00:00:00.000Z'}));
	const agentHome = createAgentHome('web1', 7441);
	const agent = pairAgent(agentHome, context.listener.address, {caSha256: context.listener.caSha256});
	await context.listener.request('web1');
	t.true((await context.listener.listener.approve('web1', await agent.code())).ok);
	t.is(await agent.done, 0);
	const certificate = new x509.X509Certificate(readTextFile(agentPaths(agentHome.home).cert, 'cert'));
	t.like(findAgent(await registry(context.controllerHome).read(), 'web1'), {address: '127.0.0.1:7441', serial: normaliseSerial(certificate.serialNumber)});
});

test('an agent offering only TLS 1.2 is refused on both sides', async t => {
	const context = await fleetListener();
	t.teardown(async () => context.listener.listener.close());
	const outcome = await pairWithController(agentOptions(context.listener.hostPort, {caSha256: context.listener.caSha256, tls: {minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2'}}));
	t.deepEqual(outcome, {ok: false, reason: `cannot reach the pairing listener at ${context.listener.address} (ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION)`, pinned: false});
	t.deepEqual(await context.listener.refused(null), {event: 'refused', agent: null, ceremony: null, source: '127.0.0.1', reason: 'TLS handshake failed (ERR_SSL_UNSUPPORTED_PROTOCOL); pairing needs TLS 1.3'});
});

// ---------------------------------------------------------------------------------------------
// Fake controllers: the agent's side alone.

function agentOptions(controller: HostPort, overrides: Partial<AgentPairingOptions> = {}): AgentPairingOptions {
	return {
		controller,
		name: 'web1',
		address: '127.0.0.1:7441',
		tags: {site: 'london'},
		timeoutMs: 60_000,
		now: () => new Date(),
		onCode() {},
		onStatus() {},
		// Trusts whatever it is shown: a refusal below comes from the agent's own checks.
		confirm: async () => true,
		...overrides,
	};
}

type FakeCase = {
	title: string;
	fake: (fleet: ForeignFleet) => Promise<Omit<FakeControllerOptions, 'fleet'>>;
	agent?: Partial<AgentPairingOptions>;
	reason: (fake: {address: HostPort; fleet: ForeignFleet}) => string;
	/** The frames the fake controller received before the connection closed. */
	received: string[];
};

async function certificateFor(fleet: ForeignFleet, publicKey: x509.PublicKey | CryptoKey, name: string): Promise<string> {
	return (await issueCertificate({ca: fleet.ca, publicKey, identity: {role: 'agent', name}, now: new Date()})).toString('pem');
}

const fakes: FakeCase[] = [
	{
		title: 'a hello whose controller certificate another CA signed',
		fake: async () => ({hello: {controller: (await makeForeignFleet()).controllerPem}}),
		reason: () => 'the controller\'s hello is inconsistent: the controller certificate is not signed by the CA',
		received: ['declined'],
	},
	{
		title: 'a hello whose CA is not a CA',
		fake: async fleet => ({hello: {ca: fleet.controllerPem}}),
		reason: () => 'the controller\'s hello is inconsistent: the CA certificate is not marked as a CA',
		received: ['declined'],
	},
	{
		title: 'a hello with certificates that do not parse',
		fake: async () => ({hello: {ca: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'}}),
		reason: () => 'the hello carries certificates that cannot be parsed',
		received: ['declined'],
	},
	{
		title: 'a TLS server certificate for another role',
		fake: async fleet => {
			fleet.server = await mintServerCredentials(fleet.ca, {role: 'controller'});
			return {};
		},
		reason: () => 'the controller\'s hello is inconsistent: the certificate names xi-exec:controller, not xi-exec:server',
		received: ['declined'],
	},
	{
		title: 'an approved certificate for another key',
		fake: async fleet => ({issue: async (_csr, name) => certificateFor(fleet, (await generateKeyPair()).publicKey, name)}),
		reason: () => 'the issued certificate is not for this agent\'s key',
		received: ['commit', 'reveal', 'declined'],
	},
	{
		title: 'an approved certificate for another agent',
		fake: async fleet => ({issue: async csr => certificateFor(fleet, csr.publicKey, 'web2')}),
		reason: () => 'the issued certificate is wrong: the certificate names xi-exec:agent/web2, not xi-exec:agent/web1',
		received: ['commit', 'reveal', 'declined'],
	},
	{
		title: 'an approved certificate from another CA',
		fake: async () => {
			const other = await makeForeignFleet();
			return {issue: async (csr, name) => certificateFor(other, csr.publicKey, name)};
		},
		reason: () => 'the issued certificate is wrong: the agent certificate is not signed by the CA',
		received: ['commit', 'reveal', 'declined'],
	},
	{
		title: 'an approved certificate that does not parse',
		fake: async () => ({issue: async () => 'not a certificate'}),
		reason: () => 'the issued certificate cannot be parsed',
		received: ['commit', 'reveal', 'declined'],
	},
	{
		title: 'approved in place of the nonce',
		fake: async () => ({afterCommit: {type: 'approved', certificate: 'x'}}),
		reason: () => 'out of order: the controller sent approved, expected nonce',
		received: ['commit'],
	},
	{
		title: 'a second hello in place of the nonce',
		fake: async fleet => ({afterCommit: {type: 'hello', ceremony: 'again', ca: fleet.caPem, controller: fleet.controllerPem, controllerName: 'fake', expires: new Date().toISOString()}}),
		reason: () => 'out of order: the controller sent hello, expected nonce',
		received: ['commit'],
	},
	{
		title: 'a controller that speaks only TLS 1.2',
		fake: async () => ({maxVersion: 'TLSv1.2'}),
		reason: ({address}) => `cannot reach the pairing listener at 127.0.0.1:${address.port} (ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION)`,
		received: [],
	},
	{
		title: 'a controller that speaks only TLS 1.2, to an agent told to accept TLS 1.2',
		fake: async () => ({maxVersion: 'TLSv1.2'}),
		agent: {tls: {minVersion: 'TLSv1.2'}},
		reason: () => 'the pairing listener did not negotiate TLS 1.3',
		received: ['declined'],
	},
];

for (const fakeCase of fakes) {
	test(`the agent refuses a fake controller: ${fakeCase.title}`, async t => {
		const fleet = await makeForeignFleet();
		const fake = await startFakeController({fleet, ...await fakeCase.fake(fleet)});
		t.teardown(fake.close);
		const outcome = await pairWithController(agentOptions(fake.address, fakeCase.agent));
		t.deepEqual(outcome, {ok: false, reason: fakeCase.reason({address: fake.address, fleet}), pinned: false});
		if (fakeCase.received.length > 0) {
			await fake.received.find(message => message.type === 'closed');
		}

		t.deepEqual(fake.received.all.map(message => message.type).filter(type => type !== 'closed'), fakeCase.received);
	});
}

test('a fake controller with its own CA that says "approved": refused at once with --ca-sha256 of the real CA', async t => {
	const controllerHome = await createController();
	const caSha256 = publicKeySha256((await loadCertificateAuthority(controllerPaths(controllerHome))).certificate);
	const fleet = await makeForeignFleet();
	const fake = await startFakeController({fleet});
	t.teardown(fake.close);
	const agentHome = createAgentHome('web1', 7441);
	const agent = pairAgent(agentHome, fake.address, {caSha256});
	t.is(await agent.done, 1);
	t.is(await agent.refusal(), `the controller's CA (sha256 ${fleet.caSha256}) is not the one given with --ca-sha256`);
	t.false(agent.lines.all.some(line => line['event'] === 'code'), 'no code was shown');
	await fake.received.find(message => message.type === 'closed');
	t.deepEqual(fake.received.all.map(message => message.type), ['declined', 'closed'], 'no commit was sent');
	t.deepEqual(storedCredentials(agentHome.home), []);
});

test('a fake controller with its own CA that says "approved": without --ca-sha256 nothing is pinned unless the operator confirms', async t => {
	const fleet = await makeForeignFleet();
	const fake = await startFakeController({fleet});
	t.teardown(fake.close);
	const shown: PairingCode[] = [];
	const asked: PairingCode[] = [];
	const outcome = await pairWithController(agentOptions(fake.address, {
		onCode(code) {
			shown.push(code);
		},
		async confirm(code) {
			asked.push(code);
			return false;
		},
	}));
	t.deepEqual(outcome, {ok: false, reason: 'the operator did not confirm on the agent', pinned: false});
	t.is(shown.length, 1);
	t.deepEqual(asked, shown, 'the operator was asked once, about the code and CA the agent showed');
	t.is(asked[0]?.caSha256, fleet.caSha256);
	await fake.received.find(message => message.type === 'closed');
	t.deepEqual(fake.received.all.map(message => message.type), ['commit', 'reveal', 'declined', 'closed'], 'the agent never sent confirmed');
});

test('a fake controller with its own CA that says "approved": the confirmation is all that stops it (control)', async t => {
	const fleet = await makeForeignFleet();
	const fake = await startFakeController({fleet});
	t.teardown(fake.close);
	const outcome = await pairWithController(agentOptions(fake.address, {confirm: async () => true}));
	t.true(outcome.ok);
	t.is(outcome.ok && outcome.pins.caSha256, fleet.caSha256);
});
