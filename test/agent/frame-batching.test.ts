/**
 * How the agent writes a run's frames (connection-end.ts batchedSender), over real TLS on
 * 127.0.0.1: the bytes a controller reads are the frames as sent, in order, and frames that are
 * ready together leave in one write (counted on the agent's socket: its _write and _writev calls,
 * each one TLS record and one write to the kernel), so the controller reads fewer records.
 */
import {createConnection, createServer as createTcpServer, type AddressInfo, type Socket} from 'node:net';
import {connect, createServer, type TLSSocket} from 'node:tls';
import test from 'ava';
import {batchedSender, endConnection} from '../../agent/connection-end.js';
import {createCertificateAuthority, generateKeyPair, issueCertificate, privateKeyToPem} from '../../source/pki/index.js';

let pki: {key: string; cert: string; ca: string} | undefined;

test.before(async () => {
	const keys = await generateKeyPair();
	const ca = {certificate: await createCertificateAuthority({keys, now: new Date()}), privateKey: keys.privateKey};
	const pair = await generateKeyPair();
	const certificate = await issueCertificate({ca, publicKey: pair.publicKey, identity: {role: 'agent', name: 'web1'}, now: new Date()});
	pki = {key: await privateKeyToPem(pair.privateKey), cert: certificate.toString('pem'), ca: ca.certificate.toString('pem')};
});

type Pair = {agent: TLSSocket; writes: () => number; received: () => Promise<{text: string; records: number}>};

/** A TLS connection: the agent's end, its writes counted, and what the controller's end reads until the agent ends. */
async function tlsPair(t: {teardown: (fn: () => void) => void}): Promise<Pair> {
	let accepted: (socket: TLSSocket) => void;
	const agentSide = new Promise<TLSSocket>(resolve => {
		accepted = resolve;
	});
	const server = createServer({key: pki!.key, cert: pki!.cert, minVersion: 'TLSv1.3'}, socket => {
		accepted(socket);
	});
	await new Promise<void>(resolve => {
		server.listen(0, '127.0.0.1', resolve);
	});
	t.teardown(() => server.close());
	const controller = connect({host: '127.0.0.1', port: (server.address() as AddressInfo).port, ca: [pki!.ca], servername: 'web1', checkServerIdentity: () => undefined});
	t.teardown(() => controller.destroy());
	const chunks: Buffer[] = [];
	controller.on('data', (chunk: Buffer) => chunks.push(chunk));
	const ended = new Promise<void>(resolve => controller.on('end', resolve));
	const agent = await agentSide;
	t.teardown(() => agent.destroy());
	let writes = 0;
	const write = agent._write.bind(agent);
	const writev = agent._writev!.bind(agent);
	agent._write = (...args) => {
		writes++;
		write(...args);
	};

	agent._writev = (...args) => {
		writes++;
		writev(...args);
	};

	return {
		agent,
		writes: () => writes,
		async received() {
			await ended;
			return {text: Buffer.concat(chunks).toString('utf8'), records: chunks.length};
		},
	};
}

const frame = (type: string, extra: Record<string, unknown> = {}) => JSON.stringify({v: 1, id: 'r1', type, ...extra}) + '\n';
const started = frame('started');
const output = frame('stdout', {data: ' 18:20:05 up  1:29,  0 user,  load average: 10.21, 10.48, 14.52\n'});
const result = frame('result', {status: 'ok', exitCode: 0, signal: null, durationMs: 2, truncated: false, bytes: {stdout: 68, stderr: 0}});

/** Until what waits has gone out (the socket uncorked): polled, as a loaded machine's timers are late. */
async function flushed(socket: TLSSocket): Promise<void> {
	while (socket.writableCorked > 0) {
		await new Promise(resolve => setTimeout(resolve, 5));
	}
}

/** Blocks the event loop for `ms`, as a busy agent's other connections do. */
function busy(ms: number): void {
	const until = performance.now() + ms;
	while (performance.now() < until) {
		// Nothing: the loop is held.
	}
}

/** A local TCP pair: something that becomes readable while the loop is held (a script's output pipe, in the agent). */
async function pipeLike(t: {teardown: (fn: () => void) => void}): Promise<{writer: Socket; reader: Socket}> {
	let accepted: (socket: Socket) => void;
	const readerSide = new Promise<Socket>(resolve => {
		accepted = resolve;
	});
	const server = createTcpServer(socket => {
		accepted(socket);
	});
	await new Promise<void>(resolve => {
		server.listen(0, '127.0.0.1', resolve);
	});
	t.teardown(() => server.close());
	const writer = createConnection((server.address() as AddressInfo).port, '127.0.0.1');
	await new Promise<void>(resolve => writer.on('connect', resolve));
	const reader = await readerSide;
	t.teardown(() => {
		writer.destroy();
		reader.destroy();
	});
	return {writer, reader};
}

test('frames sent in one turn, then the end: one write and one record, the bytes as sent', async t => {
	const pair = await tlsPair(t);
	const send = batchedSender(pair.agent);
	send(started);
	send(output);
	send(result);
	endConnection(pair.agent);
	const {text, records} = await pair.received();
	t.is(text, started + output + result);
	t.is(pair.writes(), 1);
	t.is(records, 1);
});

test('the end sends what waits and its own last frame in the same write', async t => {
	const pair = await tlsPair(t);
	const send = batchedSender(pair.agent);
	send(started);
	send(output);
	endConnection(pair.agent, result);
	const {text} = await pair.received();
	t.is(text, started + output + result);
	t.is(pair.writes(), 1);
});

test('output that arrives while a busy agent waits joins started, though the wait ended before it was read', async t => {
	const pair = await tlsPair(t);
	const pipe = await pipeLike(t);
	const send = batchedSender(pair.agent, 5);
	const read = new Promise<void>(resolve => {
		pipe.reader.once('data', () => {
			send(output);
			resolve();
		});
	});
	send(started);
	// The output is in the kernel now, and the wait is over before the loop turns: the timer fires
	// first in the next turn, the pipe is read after it in the same turn.
	pipe.writer.write('x');
	busy(30);
	await read;
	await flushed(pair.agent);
	t.is(pair.writes(), 1);
	send(result);
	endConnection(pair.agent);
	const {text} = await pair.received();
	t.is(text, started + output + result);
	t.is(pair.writes(), 2);
});

test('a frame after the batch went out starts a new one; nothing is lost or reordered', async t => {
	const pair = await tlsPair(t);
	const send = batchedSender(pair.agent, 5);
	send(started);
	await flushed(pair.agent);
	t.is(pair.writes(), 1);
	send(output);
	send(output);
	await flushed(pair.agent);
	t.is(pair.writes(), 2);
	send(result);
	endConnection(pair.agent);
	const {text} = await pair.received();
	t.is(text, started + output + output + result);
	t.is(pair.writes(), 3);
});

test('nothing is written after the end', async t => {
	const pair = await tlsPair(t);
	const send = batchedSender(pair.agent);
	send(started);
	endConnection(pair.agent, result);
	send(output);
	const {text} = await pair.received();
	t.is(text, started + result);
});
