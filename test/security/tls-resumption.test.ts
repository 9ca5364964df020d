/**
 * No TLS session is ever resumed on the agent (issue 19's must-hold): a resumed session skips the
 * client's certificate, and the agent's checks of who is asking (role, pinned serial) would then
 * read the certificate of the connection that saved it. A real `xi-exec-agent start` process on
 * 127.0.0.1; two clients we did not write the TLS of: the openssl binary (`s_client -sess_out`,
 * then `-sess_in`) and node's client with a saved session. Each saves a session as the controller
 * first, then offers it back: with the controller's certificate (a full handshake every time, and
 * the request answered), without any certificate, and with another agent's valid certificate
 * (both refused, each with the agent's `tls.refused` audit record and its reason).
 *
 * The agent still hands out TLS 1.3 tickets (stateful ones: SSL_OP_NO_TICKET; node has no
 * SSL_CTX_set_num_tickets, openssl#8077), but it keeps no session store to find them in (node's
 * server has no `resumeSession` listener), so none resumes. The control rows show that both probes
 * do see a resumption: a plain node:tls server with tickets on resumes both clients' sessions.
 */
import {spawn, spawnSync} from 'node:child_process';
import {readFileSync, writeFileSync} from 'node:fs';
import type {AddressInfo} from 'node:net';
import {join} from 'node:path';
import {createServer, type Server} from 'node:tls';
import test from 'ava';
import {agentPaths} from '../../agent/home.js';
import {readTextFile} from '../../source/io/files.js';
import {controllerCredentials, enrolAgent, freePort, rawExchange, requestLine, temporaryDirectory, waitFor} from '../helpers/fleet.js';
import {tableAgent, type TableAgent} from './agent-run.js';

const openssl = spawnSync('openssl', ['version'], {encoding: 'utf8'});
const opensslTest = openssl.status === 0 ? test.serial : test.skip;
if (openssl.status !== 0) {
	test('s_client rows: skipped', t => {
		t.log(`SKIPPED: the openssl binary is not installed (${openssl.error?.message ?? openssl.stderr}); install Debian's openssl package`);
		t.pass();
	});
}

type Pems = {ca: string; controllerCert: string; controllerKey: string; thiefCert: string; thiefKey: string};
type Setup = {target: TableAgent; files: Pems; pems: Pems; control: Server; controlPort: number};
let setup: Setup | undefined;

test.before(async () => {
	const target = await tableAgent('resume1', {});
	const thief = await enrolAgent(target.controller, {name: 'thief', port: freePort()});
	const controller = controllerCredentials(target.controller);
	const pems: Pems = {ca: controller.ca, controllerCert: controller.cert, controllerKey: controller.key, thiefCert: readTextFile(agentPaths(thief.home).cert, 'cert'), thiefKey: readTextFile(agentPaths(thief.home).key, 'key')};
	const directory = temporaryDirectory('xi-exec-resumption-');
	const files = Object.fromEntries(Object.entries(pems).map(([name, pem]) => {
		const path = join(directory, name);
		writeFileSync(path, pem, {mode: 0o600});
		return [name, path];
	})) as Pems;
	// The control: the agent's own certificate and CA, a client certificate required, tickets on.
	const agentHome = agentPaths(target.agent.home);
	const control = createServer({key: readTextFile(agentHome.key, 'key'), cert: readTextFile(agentHome.cert, 'cert'), ca: [pems.ca], requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3'}, socket => {
		socket.end(`${JSON.stringify({type: 'control', peerCertificate: Boolean(socket.getPeerCertificate().raw)})}\n`);
	});
	await new Promise<void>(resolve => {
		control.listen(0, '127.0.0.1', resolve);
	});
	setup = {target, files, pems, control, controlPort: (control.address() as AddressInfo).port};
});

test.after.always(async () => {
	await setup?.target.running.stop();
	setup?.control.close();
});

function ready(): Setup {
	if (!setup) {
		throw new Error('the agent did not start');
	}

	return setup;
}

/** The agent's `tls.refused` audit record with this reason, written after `from` records. */
async function refusalRecorded(from: number, reason: string): Promise<Record<string, unknown>> {
	return waitFor(() => auditRecords().slice(from).find(record => record['event'] === 'tls.refused' && record['reason'] === reason), `a tls.refused record "${reason}"`, {giveUpMs: 20_000, state: () => auditRecords().slice(from)});
}

function auditRecords(): Array<Record<string, unknown>> {
	return readFileSync(agentPaths(ready().target.agent.home).auditLog, 'utf8').split('\n').slice(0, -1).map(line => JSON.parse(line) as Record<string, unknown>);
}

type SClient = {handshake: 'New' | 'Reused' | undefined; tickets: number; stdout: string; stderr: string; lines: string[]};

/** One s_client connection that sends a describe and reads to the end; `-sess_out`/`-sess_in` as given. Never spawnSync: the control server lives in this process. */
async function sClient(port: number, options: {cert?: string; key?: string; sessionOut?: string; sessionIn?: string}): Promise<SClient> {
	const args = ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_3', '-CAfile', ready().files.ca, '-verify_return_error', '-ign_eof'];
	args.push(...(options.cert && options.key ? ['-cert', options.cert, '-key', options.key] : []), ...(options.sessionOut ? ['-sess_out', options.sessionOut] : []), ...(options.sessionIn ? ['-sess_in', options.sessionIn] : []));
	const client = await new Promise<{stdout: string; stderr: string}>(resolve => {
		const child = spawn('openssl', args, {stdio: ['pipe', 'pipe', 'pipe'], timeout: 60_000});
		const output = {stdout: '', stderr: ''};
		child.stdout.on('data', (chunk: Buffer) => {
			output.stdout += chunk.toString();
		});
		child.stderr.on('data', (chunk: Buffer) => {
			output.stderr += chunk.toString();
		});
		child.on('close', () => {
			resolve(output);
		});
		child.stdin.end(requestLine({type: 'describe'}));
	});
	const handshake = /^(New|Reused), TLSv1\.3/m.exec(client.stdout)?.[1] as SClient['handshake'];
	return {handshake, tickets: client.stdout.split('Post-Handshake New Session Ticket arrived').length - 1, stdout: client.stdout, stderr: client.stderr, lines: client.stdout.split('\n').filter(line => line.startsWith('{'))};
}

opensslTest('control: a node:tls server with tickets on resumes an s_client session (the probe sees a resumption)', async t => {
	const {controlPort} = ready();
	const session = join(temporaryDirectory('xi-exec-sess-'), 'session.pem');
	const first = await sClient(controlPort, {cert: ready().files.controllerCert, key: ready().files.controllerKey, sessionOut: session});
	t.is(first.handshake, 'New', first.stderr);
	t.true(first.tickets > 0);
	const resumed = await sClient(controlPort, {sessionIn: session});
	t.is(resumed.handshake, 'Reused', 'resumed without any certificate');
	t.deepEqual(resumed.lines.map(line => JSON.parse(line) as unknown), [{type: 'control', peerCertificate: true}], 'the server believes it sees the first connection\'s certificate');
});

opensslTest('s_client: a session saved by the controller and offered back is never resumed', async t => {
	const {target, files} = ready();
	const session = join(temporaryDirectory('xi-exec-sess-'), 'session.pem');
	const first = await sClient(target.agent.port, {cert: files.controllerCert, key: files.controllerKey, sessionOut: session});
	t.is(first.handshake, 'New', first.stderr);
	t.like(JSON.parse(first.lines[0] ?? '{}'), {type: 'description', agent: {name: 'resume1'}});
	t.log(`the agent sent ${first.tickets} session ticket(s) (stateful: nothing on the agent can find them again)`);

	const again = await sClient(target.agent.port, {cert: files.controllerCert, key: files.controllerKey, sessionIn: session});
	t.is(again.handshake, 'New', 'the controller itself gets a full handshake, its certificate checked again');
	t.like(JSON.parse(again.lines[0] ?? '{}'), {type: 'description', agent: {name: 'resume1'}});

	let from = auditRecords().length;
	const bare = await sClient(target.agent.port, {sessionIn: session});
	t.not(bare.handshake, 'Reused');
	t.deepEqual(bare.lines, [], 'nothing answered');
	t.regex(bare.stderr, /alert certificate required/);
	t.like(await refusalRecorded(from, 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE'), {event: 'tls.refused'});

	from = auditRecords().length;
	const thief = await sClient(target.agent.port, {cert: files.thiefCert, key: files.thiefKey, sessionIn: session});
	t.is(thief.handshake, 'New', 'a full handshake: the certificate checked is the thief\'s own');
	t.deepEqual(thief.lines.map(line => JSON.parse(line) as unknown), [{v: 1, type: 'error', id: '-', code: 'forbidden', message: 'refused: the peer is agent thief, not the controller'}]);
	t.like(await refusalRecorded(from, 'the peer is agent thief, not the controller'), {event: 'tls.refused'});
});

test.serial('node\'s client: a session saved by the controller and offered back is never resumed', async t => {
	const {target, pems, controlPort} = ready();
	const controller = {ca: pems.ca, key: pems.controllerKey, cert: pems.controllerCert};
	const control = await rawExchange(controlPort, controller);
	const controlResumed = await rawExchange(controlPort, {ca: pems.ca, session: control.sessions.at(-1)!});
	t.true(controlResumed.reused, 'control: the tickets-on server resumes node\'s session, without a certificate');

	const first = await rawExchange(target.agent.port, {...controller, send: [requestLine({type: 'describe'})]});
	t.like(first.frames[0], {type: 'description'});
	const session = first.sessions.at(-1);
	t.truthy(session, 'node keeps a session from the agent\'s (stateful) ticket');
	const rows = [
		{title: 'with the controller\'s certificate', client: controller, frames: [{type: 'description'}], refused: undefined},
		{title: 'without a certificate', client: {ca: pems.ca}, frames: [], refused: 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE'},
		{title: 'with another agent\'s certificate', client: {ca: pems.ca, key: pems.thiefKey, cert: pems.thiefCert}, frames: [{type: 'error', code: 'forbidden', message: 'refused: the peer is agent thief, not the controller'}], refused: 'the peer is agent thief, not the controller'},
	];
	for (const row of rows) {
		const from = auditRecords().length;
		const reply = await rawExchange(target.agent.port, {...row.client, session: session!, send: [requestLine({type: 'describe'})]});
		t.false(reply.reused, `${row.title}: not resumed`);
		t.is(reply.frames.length, row.frames.length, row.title);
		for (const [index, frame] of row.frames.entries()) {
			t.like(reply.frames[index], frame, row.title);
		}

		if (row.refused) {
			t.like(await refusalRecorded(from, row.refused), {event: 'tls.refused'}, row.title);
		}
	}
});
