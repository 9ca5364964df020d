/**
 * Mutual TLS against a real `xi-exec-agent start` process on 127.0.0.1, with certificates minted
 * by our own pki module: a table of refusals, each asserting what the client sees and the line
 * the agent logs (`tls.refused` with its reason); session resumption; the controller's check of
 * the agent's identity; and the real `openssl` binary on both ends of the wire.
 */
import {spawnSync} from 'node:child_process';
import {cpSync, existsSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {createServer} from 'node:tls';
import type {AddressInfo} from 'node:net';
import test from 'ava';
import {agentPaths} from '../../agent/home.js';
import {addAgent} from '../../source/registry/model.js';
import {controllerPaths, loadCertificateAuthority, openControllerRegistry} from '../../source/home.js';
import {readTextFile} from '../../source/io/files.js';
import {createCertificateAuthority, generateKeyPair, issueCertificate, normaliseSerial, privateKeyToPem, x509, type CertificateAuthority} from '../../source/pki/index.js';
import {
	controllerCli,
	controllerCredentials,
	createController,
	enrolAgent,
	freePort,
	installFixture,
	logEvents,
	rawExchange,
	requestLine,
	runCli,
	startAgent,
	temporaryDirectory,
	waitFor,
	type RawOptions,
	type RawReply,
	type RunningAgent,
	type TestAgent,
} from '../helpers/fleet.js';

type KeyAndCert = {key: string; cert: string};

type Fleet = {
	controllerHome: string;
	ca: string;
	controller: KeyAndCert;
	controllerSerial: string;
	agent: TestAgent;
	running: RunningAgent;
	/** A second enrolled agent, never started: its valid certificate is what a thief would hold. */
	other: TestAgent & KeyAndCert;
	fleetCa: CertificateAuthority;
	touch: string;
};

let fleet: Fleet | undefined;
const stops: Array<() => Promise<void>> = [];

test.before(async () => {
	const controllerHome = await createController();
	const credentials = controllerCredentials(controllerHome);
	const touch = installFixture('touch-marker.sh');
	const agent = await enrolAgent(controllerHome, {name: 'gate', port: freePort(), scripts: {touch}});
	const other = await enrolAgent(controllerHome, {name: 'thief', port: freePort()});
	const running = await startAgent(agent);
	stops.push(running.stop);
	fleet = {
		controllerHome,
		ca: credentials.ca,
		controller: {key: credentials.key, cert: credentials.cert},
		controllerSerial: normaliseSerial(new x509.X509Certificate(credentials.cert).serialNumber),
		agent,
		running,
		other: {...other, key: readTextFile(agentPaths(other.home).key, 'key'), cert: readTextFile(agentPaths(other.home).cert, 'cert')},
		fleetCa: await loadCertificateAuthority(controllerPaths(controllerHome)),
		touch,
	};
});

test.after.always(async () => {
	await Promise.all(stops.map(async stop => stop()));
});

function ready(): Fleet {
	if (!fleet) {
		throw new Error('the fleet did not start');
	}

	return fleet;
}

/** A controller-role certificate and key, issued by `ca` with the given options. */
async function mintController(ca: CertificateAuthority, options: {serial?: string; now?: Date; notAfter?: Date} = {}): Promise<KeyAndCert> {
	const keys = await generateKeyPair();
	const certificate = await issueCertificate({ca, publicKey: keys.publicKey, identity: {role: 'controller'}, now: options.now ?? new Date(), ...(options.serial ? {serial: options.serial} : {}), ...(options.notAfter ? {notAfter: options.notAfter} : {})});
	return {key: await privateKeyToPem(keys.privateKey), cert: certificate.toString('pem')};
}

async function foreignCa(): Promise<CertificateAuthority> {
	const keys = await generateKeyPair();
	// It even copies the fleet CA's name: only the key can tell them apart.
	const certificate = await createCertificateAuthority({keys, now: new Date(), name: 'xi-exec fleet CA'});
	return {certificate, privateKey: keys.privateKey};
}

/** What the client saw, without the parts that differ from run to run. */
function seen(reply: RawReply) {
	return {secured: reply.secured, errorCode: reply.errorCode, frames: reply.frames, gaveUp: reply.gaveUp};
}

type Refusal = {
	title: string;
	/** The client's certificate and options; every client also tries to run a script. */
	client: (fleet: Fleet) => Promise<Partial<RawOptions>>;
	/** What the client sees. */
	expected: (fleet: Fleet, client: Partial<RawOptions>) => ReturnType<typeof seen>;
	/** The reason in the agent's `tls.refused` line. */
	logged: (fleet: Fleet, client: Partial<RawOptions>) => string;
};

// In TLS 1.3 the client finishes its handshake before the server has checked the client's
// certificate, so `secured` is true even where the agent then refuses at the TLS layer. Node
// checks the chain (foreign CA, expiry) only after OpenSSL's handshake and then closes the
// connection without an alert: the client sees the connection end with nothing said, and the
// reason is in the agent's log only.
const closedWithoutAWord = {secured: true, errorCode: undefined, frames: [], gaveUp: false};

const refusedWith = (code: string, message: string) => ({secured: true, errorCode: undefined, frames: [{v: 1, type: 'error', id: '-', code, message}], gaveUp: false});
const forbidden = (message: string) => refusedWith('forbidden', message);

const refusals: Refusal[] = [
	{
		title: 'no client certificate',
		client: async () => ({}),
		expected: () => ({secured: true, errorCode: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', frames: [], gaveUp: false}),
		logged: () => 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE',
	},
	{
		title: 'a certificate from a foreign CA',
		client: async () => mintController(await foreignCa()),
		expected: () => closedWithoutAWord,
		logged: () => 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
	},
	{
		title: 'a foreign CA\'s certificate that copies the controller\'s serial',
		client: async fleet => mintController(await foreignCa(), {serial: fleet.controllerSerial}),
		expected: () => closedWithoutAWord,
		logged: () => 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
	},
	{
		title: 'another agent\'s valid certificate',
		client: async fleet => ({key: fleet.other.key, cert: fleet.other.cert}),
		expected: () => forbidden('refused: the peer is agent thief, not the controller'),
		logged: () => 'the peer is agent thief, not the controller',
	},
	{
		title: 'a controller certificate from the fleet CA with an unpinned serial',
		client: async fleet => mintController(fleet.fleetCa),
		expected: (_fleet, client) => refusedWith('unpinned', `refused: controller certificate serial ${serialOf(client.cert!)} is not the pinned one`),
		logged: (_fleet, client) => `controller certificate serial ${serialOf(client.cert!)} is not the pinned one`,
	},
	{
		title: 'an expired controller certificate with the pinned serial',
		client: async fleet => mintController(fleet.fleetCa, {serial: fleet.controllerSerial, now: new Date('2024-01-01T00:00:00Z'), notAfter: new Date('2024-01-02T00:00:00Z')}),
		expected: () => closedWithoutAWord,
		logged: () => 'CERT_HAS_EXPIRED',
	},
	{
		title: 'TLS 1.2 offered with the controller\'s own certificate',
		client: async fleet => ({...fleet.controller, maxVersion: 'TLSv1.2'}),
		expected: () => ({secured: false, errorCode: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', frames: [], gaveUp: false}),
		logged: () => 'ERR_SSL_UNSUPPORTED_PROTOCOL',
	},
];

/** The agent's `tls.refused` line with this reason, logged after line `from`. */
async function refusalLogged(fleet: Fleet, from: number, reason: string) {
	return waitFor(
		() => logEvents(fleet.running, 'tls.refused', from).find(entry => entry.reason === reason),
		`tls.refused "${reason}" in the agent's log`,
		{giveUpMs: 20_000, state: () => logEvents(fleet.running, 'tls.refused', from)},
	);
}

function serialOf(pem: string): string {
	return normaliseSerial(new x509.X509Certificate(pem).serialNumber);
}

for (const refusal of refusals) {
	test.serial(`the agent refuses ${refusal.title}`, async t => {
		const fleet = ready();
		const client = await refusal.client(fleet);
		const marker = join(temporaryDirectory(), 'ran');
		const from = fleet.running.lines.length;
		const reply = await rawExchange(fleet.agent.port, {ca: fleet.ca, ...client, send: [requestLine({type: 'run', script: 'touch', args: [marker], caller: 'mallory'})]});
		t.deepEqual(seen(reply), refusal.expected(fleet, client));

		const reason = refusal.logged(fleet, client);
		const line = await refusalLogged(fleet, from, reason);
		t.like(line, {event: 'tls.refused', reason});
		t.false(existsSync(marker), 'the script must not have run');
		t.deepEqual(logEvents(fleet.running, 'request.received', from), [], 'the agent must not have read a request');
	});
}

test.serial('the controller\'s own certificate is accepted: the table above fails for its stated reason only', async t => {
	const fleet = ready();
	const marker = join(temporaryDirectory(), 'ran');
	const reply = await rawExchange(fleet.agent.port, {ca: fleet.ca, ...fleet.controller, send: [requestLine({type: 'run', script: 'touch', args: [marker], caller: 'ops'})]});
	t.is(reply.errorCode, undefined);
	t.like(reply.frames.at(-1), {type: 'result', status: 'ok', exitCode: 0});
	t.true(existsSync(marker));
});

test.serial('a resumed TLS session offered without a certificate is refused: every connection authenticates in full', async t => {
	const fleet = ready();
	const first = await rawExchange(fleet.agent.port, {ca: fleet.ca, ...fleet.controller, send: [requestLine({type: 'describe'})]});
	t.like(first.frames[0], {type: 'description'});
	const session = first.sessions.at(-1);
	t.log(session ? 'the agent handed out a session ticket; offering it back' : 'the agent handed out no session ticket at all');

	const from = fleet.running.lines.length;
	const withoutCertificate = await rawExchange(fleet.agent.port, {ca: fleet.ca, ...(session ? {session} : {}), send: [requestLine({type: 'describe'})]});
	t.deepEqual(seen(withoutCertificate), {secured: true, errorCode: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', frames: [], gaveUp: false});
	t.false(withoutCertificate.reused, 'the session must not be resumed');
	await refusalLogged(fleet, from, 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE');

	const withCertificate = await rawExchange(fleet.agent.port, {ca: fleet.ca, ...fleet.controller, ...(session ? {session} : {}), send: [requestLine({type: 'describe'})]});
	t.false(withCertificate.reused, 'even the controller gets a full handshake');
	t.like(withCertificate.frames[0], {type: 'description'});
});

test.serial('control: a plain node:tls server with tickets on resumes a session without any certificate (what the agent must not do)', async t => {
	// Proves the probe above can see a resumption: the same certificates, the same client, and a
	// server that differs from the agent only in leaving session tickets on.
	const fleet = ready();
	const paths = agentPaths(fleet.agent.home);
	const server = createServer({key: readTextFile(paths.key, 'key'), cert: readTextFile(paths.cert, 'cert'), ca: [fleet.ca], requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3'}, socket => {
		socket.end(`${JSON.stringify({peer: Boolean(socket.getPeerCertificate().raw)})}\n`);
	});
	await new Promise<void>(resolve => {
		server.listen(0, '127.0.0.1', resolve);
	});
	t.teardown(() => server.close());
	const {port} = server.address() as AddressInfo;

	const first = await rawExchange(port, {ca: fleet.ca, ...fleet.controller});
	const session = first.sessions.at(-1);
	t.truthy(session);
	const resumed = await rawExchange(port, {ca: fleet.ca, ...(session ? {session} : {})});
	t.true(resumed.reused);
	t.deepEqual(resumed.frames, [{peer: true}], 'the server believes it sees the certificate of the first connection');
});

test.serial('the controller refuses an agent whose certificate names a different agent', async t => {
	const fleet = ready();
	// The registry says "web1" lives where the agent "gate" answers (a stolen certificate, or an
	// address reused): the controller must not talk to it, and "gate" must receive no request.
	await openControllerRegistry(controllerPaths(fleet.controllerHome)).update(registry => addAgent(registry, {
		name: 'web1',
		address: `127.0.0.1:${fleet.agent.port}`,
		tags: {},
		serial: '1',
		fingerprint: '00',
		certificateExpires: new Date('2030-01-01T00:00:00Z').toISOString(),
		pairedAt: new Date('2026-01-01T00:00:00Z').toISOString(),
	}));
	const from = fleet.running.lines.length;
	const reason = 'the agent presented xi-exec:agent/gate, expected xi-exec:agent/web1';

	const run = await runCli(controllerCli, ['run', 'touch', '--on', 'web1', '--json', '--', join(temporaryDirectory(), 'ran')], {XI_EXEC_HOME: fleet.controllerHome});
	t.is(run.code, 1, run.stderr);
	const document = JSON.parse(run.stdout) as {results: Array<Record<string, unknown>>};
	t.like(document.results, [{agent: 'web1', status: 'unreachable', reason}]);

	const agents = await runCli(controllerCli, ['agents', '--on', 'web1', '--json'], {XI_EXEC_HOME: fleet.controllerHome});
	t.is(agents.code, 0, agents.stderr);
	t.like(JSON.parse(agents.stdout), {agents: [{name: 'web1', status: 'unreachable', reason, scripts: []}]});
	t.deepEqual(logEvents(fleet.running, 'request.received', from), []);
});

// The agent's connection-level refusals carry the request id "-" (frames.ts: unknownRequestId);
// the controller accepts that id on error frames, so the operator sees the agent's own reason.
test('the controller shows the agent\'s own refusal when the agent has not pinned its certificate', async t => {
	const fleet = ready();
	// A rotated controller certificate the agent was not handed yet: same CA, new serial.
	const home = join(temporaryDirectory(), 'rotated');
	cpSync(fleet.controllerHome, home, {recursive: true});
	const rotated = await mintController(fleet.fleetCa);
	writeFileSync(controllerPaths(home).controllerKey, rotated.key, {mode: 0o600});
	writeFileSync(controllerPaths(home).controllerCert, rotated.cert);
	const reason = `controller certificate serial ${serialOf(rotated.cert)} is not the pinned one`;

	const run = await runCli(controllerCli, ['run', 'touch', '--on', 'gate', '--json', '--', join(temporaryDirectory(), 'ran')], {XI_EXEC_HOME: home});
	const [result] = (JSON.parse(run.stdout) as {results: Array<{status: string; reason: string}>}).results;
	t.is(result?.status, 'error');
	t.true(result?.reason.includes(reason), result?.reason);

	const agents = await runCli(controllerCli, ['agents', '--on', 'gate', '--json'], {XI_EXEC_HOME: home});
	const [agent] = (JSON.parse(agents.stdout) as {agents: Array<{status: string; reason: string}>}).agents;
	t.is(agent?.status, 'unreachable');
	t.true(agent?.reason.includes(reason), agent?.reason);
});

const openssl = spawnSync('openssl', ['version'], {encoding: 'utf8'});
const hasOpenssl = openssl.status === 0;
const opensslTest = hasOpenssl ? test.serial : test.skip;
if (!hasOpenssl) {
	test('openssl checks are skipped', t => {
		t.log(`SKIPPED: the openssl binary is not installed (${openssl.error?.message ?? openssl.stderr}); install Debian's openssl package to run these checks`);
		t.pass();
	});
}

function writePemFiles(material: Record<string, string>): Record<string, string> {
	const directory = temporaryDirectory('xi-exec-openssl-');
	return Object.fromEntries(Object.entries(material).map(([name, pem]) => {
		const path = join(directory, name);
		writeFileSync(path, pem, {mode: 0o600});
		return [name, path];
	}));
}

opensslTest('openssl s_client with the controller\'s certificate sends a describe frame and reads the description line', async t => {
	const fleet = ready();
	const files = writePemFiles({'ca.pem': fleet.ca, 'controller.pem': fleet.controller.cert, 'controller.key': fleet.controller.key});
	const request = requestLine({type: 'describe', id: 'openssl-describe-1'});
	const client = spawnSync('openssl', ['s_client', '-connect', `127.0.0.1:${fleet.agent.port}`, '-tls1_3', '-CAfile', files['ca.pem']!, '-verify_return_error', '-cert', files['controller.pem']!, '-key', files['controller.key']!, '-quiet'], {input: request, encoding: 'utf8', timeout: 60_000});
	t.is(client.status, 0, client.stderr);
	const lines = client.stdout.split('\n').filter(line => line.length > 0);
	const described = lines.map(line => JSON.parse(line) as {scripts: Array<{digest?: string}>});
	// The entry's digest (its path, users and files, hashed): present, and not the path itself.
	const digest = described[0]?.scripts[0]?.digest ?? '';
	t.regex(digest, /^[\da-f]{64}$/);
	t.deepEqual(described, [{v: 1, type: 'description', id: 'openssl-describe-1', agent: {name: 'gate', tags: {}}, scripts: [{name: 'touch', description: 'test script touch', timeoutSeconds: 30, digest}], checksEntry: true}]);
});

opensslTest('openssl s_client without a certificate is refused', async t => {
	const fleet = ready();
	const files = writePemFiles({'ca.pem': fleet.ca});
	const from = fleet.running.lines.length;
	const client = spawnSync('openssl', ['s_client', '-connect', `127.0.0.1:${fleet.agent.port}`, '-tls1_3', '-CAfile', files['ca.pem']!, '-quiet'], {input: requestLine({type: 'describe'}), encoding: 'utf8', timeout: 60_000});
	t.is(client.stdout, '');
	t.regex(client.stderr, /alert certificate required/);
	await refusalLogged(fleet, from, 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE');
	t.pass();
});

opensslTest('openssl verify accepts the agent and controller certificates the fleet CA issued, and not a foreign one', async t => {
	const fleet = ready();
	const foreign = await mintController(await foreignCa());
	const files = writePemFiles({
		'ca.pem': fleet.ca,
		'agent.pem': readTextFile(agentPaths(fleet.agent.home).cert, 'agent cert'),
		'controller.pem': fleet.controller.cert,
		'foreign.pem': foreign.cert,
	});
	for (const name of ['agent.pem', 'controller.pem']) {
		const verify = spawnSync('openssl', ['verify', '-CAfile', files['ca.pem']!, files[name]!], {encoding: 'utf8'});
		t.is(verify.status, 0, verify.stderr);
		t.is(verify.stdout, `${files[name]!}: OK\n`);
	}

	const refused = spawnSync('openssl', ['verify', '-CAfile', files['ca.pem']!, files['foreign.pem']!], {encoding: 'utf8'});
	t.not(refused.status, 0);
	t.regex(refused.stdout + refused.stderr, /unable to get local issuer certificate/);
});
