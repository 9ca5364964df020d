/**
 * Syslog forwarding: RFC 5424 messages, received by a Node UDP and TCP listener on 127.0.0.1, and
 * a collector that is down. These run whether or not rsyslog is installed; rsyslog.test.ts
 * forwards to a real rsyslogd (and says in its log whether it ran or was skipped).
 */
import {createSocket} from 'node:dgram';
import {createServer, type Server, type Socket} from 'node:net';
import {hostname} from 'node:os';
import {join} from 'node:path';
import {setTimeout as delay} from 'node:timers/promises';
import test from 'ava';
import {openAuditLog} from '../../source/audit/file-log.js';
import {canonical, chainRecord, type AuditRecord} from '../../source/audit/record.js';
import {createSyslogForwarder, formatSyslog, parseSyslogUrl} from '../../source/audit/syslog.js';
import {verifyLog} from '../../source/audit/verify.js';
import {auditKey, fakeClock, fileLines, parseLines, temporaryDirectory} from './helpers.js';

const key = await auditKey('agent-key');

function record(fields: Record<string, unknown> & {event: string}, log = '6f1c0e2a-log'): AuditRecord {
	return chainRecord(undefined, {log, side: 'agent', now: new Date('2026-01-14T10:00:00.123Z')}, fields);
}

const registered = '[origin software="xi-exec" swVersion="0.1.0"][meta sequenceId="1"]';

test('formatSyslog: an RFC 5424 line with IANA-registered structured data by default and the canonical record as the message', t => {
	const request = record({event: 'run.request', requestId: 'req-1', args: ['a\nb', '\u001B[2J']});
	t.is(formatSyslog(request, 'xi-exec-agent', 'web1.example'), `<110>1 2026-01-14T10:00:00.123Z web1.example xi-exec-agent ${process.pid} run.request ${registered} ${canonical(request)}`);
	t.is(formatSyslog(request, 'xi-exec-agent', 'web1.example', 'xi-exec@99999'), `<110>1 2026-01-14T10:00:00.123Z web1.example xi-exec-agent ${process.pid} run.request ${registered}[xi-exec@99999 requestId="req-1" seq="0" log="6f1c0e2a-log"] ${canonical(request)}`);
	t.false(formatSyslog(request, 'xi-exec-agent', 'web1.example').includes('\n'));
	t.false(formatSyslog(request, 'xi-exec-agent', 'web1.example').includes('\u001B'));
});

const formats: Array<{title: string; record: AuditRecord; host?: string; header: string}> = [
	{title: 'SD-PARAM values escape ", \\ and ]', record: record({event: 'run.request', requestId: 'a"b\\c]d'}, 'log]"\\'), header: `<110>1 2026-01-14T10:00:00.123Z h app PID run.request ${registered}[example@99999 requestId="a\\"b\\\\c\\]d" seq="0" log="log\\]\\"\\\\"]`},
	{title: 'no request id: no private element', record: record({event: 'pairing.listening'}), header: `<110>1 2026-01-14T10:00:00.123Z h app PID pairing.listening ${registered}`},
	{title: 'meta sequenceId is seq + 1, wrapping at 2147483647', record: {...record({event: 'x'}), seq: 2_147_483_647}, header: '<110>1 2026-01-14T10:00:00.123Z h app PID x [origin software="xi-exec" swVersion="0.1.0"][meta sequenceId="1"]'},
	{title: 'MSGID keeps printable ASCII only', record: record({event: 'run request\u001B[2J\ný'}), header: `<110>1 2026-01-14T10:00:00.123Z h app PID runrequest[2J ${registered}`},
	{title: 'MSGID is at most 32 characters', record: record({event: 'e'.repeat(40)}), header: `<110>1 2026-01-14T10:00:00.123Z h app PID ${'e'.repeat(32)} ${registered}`},
	{title: 'an event with nothing printable: a nil MSGID', record: record({event: '\u0000 '}), header: `<110>1 2026-01-14T10:00:00.123Z h app PID - ${registered}`},
	{title: 'an empty host name: a nil HOSTNAME', record: record({event: 'x'}), host: '', header: `<110>1 2026-01-14T10:00:00.123Z - app PID x ${registered}`},
	{title: 'HOSTNAME is at most 255 characters', record: record({event: 'x'}), host: 'h'.repeat(300), header: `<110>1 2026-01-14T10:00:00.123Z ${'h'.repeat(255)} app PID x ${registered}`},
];

for (const row of formats) {
	test(`formatSyslog: ${row.title}`, t => {
		t.is(formatSyslog(row.record, 'app', row.host ?? 'h', 'example@99999'), `${row.header.replace(' PID ', ` ${process.pid} `)} ${canonical(row.record)}`);
	});
}

const urls: Array<{url: string; target: ReturnType<typeof parseSyslogUrl>}> = [
	{url: 'udp://127.0.0.1:514', target: {transport: 'udp', host: '127.0.0.1', port: 514}},
	{url: 'tcp://logs.example.com:6514', target: {transport: 'tcp', host: 'logs.example.com', port: 6514}},
	{url: 'tls://[::1]:6514', target: {transport: 'tls', host: '::1', port: 6514}},
	{url: 'http://logs:514', target: 'syslog target "http://logs:514" must be udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT'},
	{url: 'udp://logs', target: 'syslog target "udp://logs" must be udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT'},
	{url: 'udp://lo gs:514', target: 'syslog target "udp://lo gs:514" must be udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT'},
];

for (const row of urls) {
	test(`parseSyslogUrl ${row.url}`, t => {
		t.deepEqual(parseSyslogUrl(row.url), row.target);
	});
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!condition()) {
		if (Date.now() > deadline) {
			throw new Error(`timed out waiting for ${what}`);
		}

		await delay(10);
	}
}

/** A TCP syslog receiver that reads octet-counted frames (RFC 6587). */
async function tcpReceiver(port = 0): Promise<{server: Server; port: number; messages: string[]; close: () => Promise<void>}> {
	const messages: string[] = [];
	const sockets = new Set<Socket>();
	const server = createServer(socket => {
		sockets.add(socket);
		let buffer = Buffer.alloc(0);
		socket.on('data', chunk => {
			buffer = Buffer.concat([buffer, chunk]);
			for (;;) {
				const space = buffer.indexOf(0x20);
				const length = space > 0 ? Number(buffer.subarray(0, space).toString('ascii')) : Number.NaN;
				if (Number.isNaN(length) || buffer.length < space + 1 + length) {
					break;
				}

				messages.push(buffer.subarray(space + 1, space + 1 + length).toString('utf8'));
				buffer = buffer.subarray(space + 1 + length);
			}
		});
	});
	await new Promise<void>(resolve => server.listen(port, '127.0.0.1', resolve));
	return {
		server,
		port: (server.address() as {port: number}).port,
		messages,
		async close() {
			for (const socket of sockets) {
				socket.destroy();
			}

			await new Promise<void>(resolve => server.close(() => resolve()));
		},
	};
}

/** A port nothing listens on (taken and given back). */
async function closedPort(): Promise<number> {
	const server = createServer();
	await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
	const {port} = server.address() as {port: number};
	await new Promise<void>(resolve => server.close(() => resolve()));
	return port;
}

test('a Node UDP listener receives every record written, checkpoints included', async t => {
	const received: string[] = [];
	const listener = createSocket('udp4');
	listener.on('message', message => received.push(message.toString('utf8')));
	await new Promise<void>(resolve => listener.bind(0, '127.0.0.1', resolve));
	t.log(`ran: a Node UDP listener on 127.0.0.1:${listener.address().port} (a real rsyslogd: rsyslog.test.ts)`);
	const forwarder = createSyslogForwarder({transport: 'udp', host: '127.0.0.1', port: listener.address().port}, 'xi-exec-agent');
	const directory = temporaryDirectory(t);
	const log = openAuditLog({path: join(directory, 'audit.log'), side: 'agent', signer: key.signer, now: fakeClock(), checkpointEvery: 2, forward: forwarder.forward});
	for (const requestId of ['req-1', 'req-2', 'req-3']) {
		await log.append({event: 'run.request', requestId, args: ['x\ny']});
	}

	await log.close();
	const records = parseLines(fileLines(log.path));
	await until(() => received.length >= records.length, 'the UDP messages');
	await forwarder.close();
	listener.close();
	t.is(records.length, 5);
	t.deepEqual([...received].sort(), records.map(item => formatSyslog(item, 'xi-exec-agent', hostname())).sort());
	t.is(forwarder.dropped(), 0);
});

test('a Node TCP listener receives every record, in order, octet-counted', async t => {
	const receiver = await tcpReceiver();
	t.log(`ran: a Node TCP listener on 127.0.0.1:${receiver.port} (a real rsyslogd: rsyslog.test.ts)`);
	const forwarder = createSyslogForwarder({transport: 'tcp', host: '127.0.0.1', port: receiver.port}, 'xi-exec');
	const directory = temporaryDirectory(t);
	const log = openAuditLog({path: join(directory, 'audit.log'), side: 'controller', signer: key.signer, now: fakeClock(), checkpointEvery: 2, forward: forwarder.forward});
	for (const requestId of ['req-1', 'req-2', 'req-3']) {
		await log.append({event: 'run.request', requestId, caller: 'ålice "the admin"'});
	}

	await log.close();
	const records = parseLines(fileLines(log.path));
	await until(() => receiver.messages.length >= records.length, 'the TCP messages');
	await forwarder.close();
	await receiver.close();
	t.deepEqual(receiver.messages, records.map(item => formatSyslog(item, 'xi-exec', hostname())));
});

test('a TCP collector that is down: appends do not wait, nothing is lost locally, and the queue is delivered when it comes up', async t => {
	const port = await closedPort();
	const forwarder = createSyslogForwarder({transport: 'tcp', host: '127.0.0.1', port}, 'xi-exec', {retryMs: 50});
	const directory = temporaryDirectory(t);
	const log = openAuditLog({path: join(directory, 'audit.log'), side: 'controller', signer: key.signer, checkpointEvery: 1000, forward: forwarder.forward});
	// Nothing listens on the port until all 50 appends are done: had an append waited for delivery, this
	// loop would never finish (the test's timeout), so finishing it is the proof, with no clock involved.
	for (let n = 0; n < 50; n++) {
		await log.append({event: 'run.request', requestId: `req-${n}`});
	}

	await log.close();
	const lines = fileLines(log.path);
	t.like(verifyLog(lines, {verifier: key.verifier}), {ok: true, records: 51, lastCheckpoint: 50, warnings: []});
	t.is(forwarder.dropped(), 0);

	const receiver = await tcpReceiver(port);
	await until(() => receiver.messages.length >= 51, 'the queued messages');
	await forwarder.close();
	await receiver.close();
	t.deepEqual(receiver.messages, parseLines(lines).map(item => formatSyslog(item, 'xi-exec', hostname())));
});

test('while the collector is down the queue is bounded: the oldest messages are dropped and counted, never the local records', async t => {
	const port = await closedPort();
	const forwarder = createSyslogForwarder({transport: 'tcp', host: '127.0.0.1', port}, 'xi-exec', {retryMs: 50, maxQueued: 5});
	const directory = temporaryDirectory(t);
	const log = openAuditLog({path: join(directory, 'audit.log'), side: 'controller', signer: key.signer, checkpointEvery: 1000, forward: forwarder.forward});
	for (let n = 0; n < 8; n++) {
		await log.append({event: 'run.request', requestId: `req-${n}`});
	}

	t.is(forwarder.dropped(), 3);
	t.is(parseLines(fileLines(log.path)).length, 8);
	const receiver = await tcpReceiver(port);
	await until(() => receiver.messages.length >= 5, 'the queued messages');
	await delay(100);
	t.deepEqual(receiver.messages, parseLines(fileLines(log.path)).slice(3).map(item => formatSyslog(item, 'xi-exec', hostname())));
	await log.close();
	await forwarder.close();
	await receiver.close();
});

test('a UDP collector that is down: nothing is lost locally', async t => {
	const port = await closedPort();
	const forwarder = createSyslogForwarder({transport: 'udp', host: '127.0.0.1', port}, 'xi-exec');
	const directory = temporaryDirectory(t);
	const log = openAuditLog({path: join(directory, 'audit.log'), side: 'controller', signer: key.signer, forward: forwarder.forward});
	for (let n = 0; n < 20; n++) {
		await log.append({event: 'run.request', requestId: `req-${n}`});
	}

	await log.close();
	t.like(verifyLog(fileLines(log.path), {verifier: key.verifier}), {ok: true, records: 21, warnings: []});
	await forwarder.close();
});

test('forwarding after the forwarder is closed counts a drop and throws nothing', async t => {
	const udp = createSyslogForwarder({transport: 'udp', host: '127.0.0.1', port: await closedPort()}, 'xi-exec');
	await udp.close();
	t.notThrows(() => {
		udp.forward(record({event: 'x'}));
	});
	t.is(udp.dropped(), 1);
});
