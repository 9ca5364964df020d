/**
 * The syslog spool and the forwarder's exits: what a collector that is down or never answers
 * leaves is spooled (bounded, the oldest dropped and counted by reason), the next forwarder sends
 * it first, close() waits a bounded time, and the settings are checked with one clear refusal each.
 */
import {readFileSync, writeFileSync} from 'node:fs';
import {createServer, type Socket} from 'node:net';
import {join} from 'node:path';
import test from 'ava';
import {openAuditLog} from '../../source/audit/file-log.js';
import {readSyslogSettings} from '../../source/audit/syslog-settings.js';
import {openSpool, spoolPath} from '../../source/audit/syslog-spool.js';
import {createSyslogForwarder, formatSyslog} from '../../source/audit/syslog.js';
import {waitFor} from '../helpers/fleet.js';
import {freePort} from '../helpers/rsyslogd.js';
import {auditKey, fileLines, parseLines, temporaryDirectory} from './helpers.js';

const key = await auditKey('spool-key');

test('the spool keeps the newest within its bound and counts the oldest it drops', async t => {
	const spool = openSpool(join(temporaryDirectory(t), 'syslog-spool'), 4096);
	await spool.put(['a'.repeat(1500), 'b'.repeat(1500)]);
	t.like(spool.status(), {waiting: 2, dropped: {}});
	await spool.put(['c'.repeat(1500)]);
	t.deepEqual(spool.status(), {waiting: 2, bytes: 3002, maxBytes: 4096, dropped: {'spool full': 1}});
	await spool.drop('too large for UDP', 2);
	t.deepEqual(await spool.take(), ['b'.repeat(1500), 'c'.repeat(1500)]);
	t.deepEqual(spool.status(), {waiting: 0, bytes: 0, maxBytes: 4096, dropped: {'spool full': 1, 'too large for UDP': 2}});
});

test('a TCP collector that is down at exit: everything is spooled; the next forwarder sends the spool first, then its own, in order', async t => {
	const directory = temporaryDirectory(t);
	const path = join(directory, 'audit.jsonl');
	const port = await freePort('tcp');
	const events: string[] = [];
	const first = createSyslogForwarder({transport: 'tcp', host: '127.0.0.1', port}, 'xi-exec', {spool: openSpool(spoolPath(path)), onEvent: (event, fields) => events.push(`${event} ${String(fields['records'] ?? fields['reason'])}`)});
	const log = openAuditLog({path, side: 'controller', signer: key.signer, forward: first.forward});
	await log.append({event: 'one'});
	await log.append({event: 'two'});
	// The collector is down before the process exits: its refusal has come (a fast exit spools without hearing it).
	await waitFor(() => (events.length > 0 ? true : undefined), 'the connection to be refused');
	await log.close();
	await first.close();
	t.deepEqual(events, ['syslog.unreachable ECONNREFUSED', 'syslog.spooled 3']);
	t.is(openSpool(spoolPath(path)).status().waiting, 3);

	const received: string[] = [];
	const sockets: Socket[] = [];
	const server = createServer(socket => {
		sockets.push(socket);
		socket.on('data', chunk => received.push(...chunk.toString('utf8').split(/\d+ (?=<110>)/).filter(Boolean)));
	});
	await new Promise<void>(resolve => server.listen(port, '127.0.0.1', resolve));
	t.teardown(() => {
		for (const socket of sockets) {
			socket.destroy();
		}

		server.close();
	});
	const second = createSyslogForwarder({transport: 'tcp', host: '127.0.0.1', port}, 'xi-exec', {spool: openSpool(spoolPath(path))});
	const next = openAuditLog({path, side: 'controller', signer: key.signer, forward: second.forward});
	await next.append({event: 'three'});
	await next.close();
	await second.close();
	const expected = parseLines(fileLines(path)).map(record => formatSyslog(record, 'xi-exec'));
	for (let wait = 0; received.length < expected.length && wait < 200; wait++) {
		await new Promise(resolve => setTimeout(resolve, 25));
	}

	t.deepEqual(received, expected);
	t.is(openSpool(spoolPath(path)).status().waiting, 0);
});

test('a collector that accepts but never completes TLS: close() gives up after flushTimeoutMs and spools, nothing is dropped', async t => {
	const directory = temporaryDirectory(t);
	const sockets: Socket[] = [];
	const server = createServer(socket => sockets.push(socket));
	await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
	t.teardown(() => {
		for (const socket of sockets) {
			socket.destroy();
		}

		server.close();
	});
	const spool = openSpool(join(directory, 'syslog-spool'));
	const forwarder = createSyslogForwarder({transport: 'tls', host: '127.0.0.1', port: (server.address() as {port: number}).port}, 'xi-exec', {spool, flushTimeoutMs: 300});
	const log = openAuditLog({path: join(directory, 'audit.jsonl'), side: 'controller', signer: key.signer, forward: forwarder.forward});
	await log.append({event: 'one'});
	await log.close();
	await forwarder.close();
	t.is(spool.status().waiting, 2);
	t.is(forwarder.dropped(), 0);
	t.like(forwarder.status(), {queued: 0, sent: 0, connected: false});
});

const settings: Array<[string, Record<string, unknown>, string | Record<string, unknown> | undefined]> = [
	['none', {}, undefined],
	['a URL alone: the default spool bound, no private SD-ID', {syslog: 'tcp://logs:514'}, {url: 'tcp://logs:514', spoolBytes: 16_777_216}],
	['a private SD-ID and a bound', {syslog: 'udp://logs:514', syslogSdId: 'xi-exec@12345', syslogSpoolBytes: 8192}, {sdId: 'xi-exec@12345', spoolBytes: 8192}],
	['the documentation number', {syslog: 'udp://logs:514', syslogSdId: 'xi-exec@32473'}, '"syslogSdId" in CONFIG must be NAME@NUMBER (your organisation\'s private enterprise number; not 32473, which RFC 5612 reserves for documentation) (received "xi-exec@32473").'],
	['an SD-ID without a number', {syslog: 'udp://logs:514', syslogSdId: 'xi-exec'}, '"syslogSdId" in CONFIG must be NAME@NUMBER (your organisation\'s private enterprise number; not 32473, which RFC 5612 reserves for documentation) (received "xi-exec").'],
	['an SD-ID with a quote', {syslog: 'udp://logs:514', syslogSdId: 'x"y@1'}, '"syslogSdId" in CONFIG must be NAME@NUMBER (your organisation\'s private enterprise number; not 32473, which RFC 5612 reserves for documentation) (received "x\\"y@1").'],
	['a bound too small', {syslog: 'udp://logs:514', syslogSpoolBytes: 100}, '"syslogSpoolBytes" in CONFIG must be a whole number of bytes of at least 4096 (received 100).'],
	['a CA that is not a path', {syslog: 'tls://logs:6514', syslogCa: 5}, '"syslogCa" in CONFIG must be the path of a PEM file (received 5).'],
	['a bad URL', {syslog: 'http://logs'}, '"syslog" in CONFIG: syslog target "http://logs" must be udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT.'],
];

for (const [title, raw, expected] of settings) {
	test(`syslog settings: ${title}`, t => {
		if (typeof expected === 'string') {
			t.throws(() => readSyslogSettings(raw, 'CONFIG'), {code: 'CONFIG_INVALID', message: expected} as never);
		} else if (expected === undefined) {
			t.is(readSyslogSettings(raw, 'CONFIG'), undefined);
		} else {
			t.like(readSyslogSettings(raw, 'CONFIG'), expected);
		}
	});
}

test('syslog settings: the CA is read from syslogCa', t => {
	const ca = join(temporaryDirectory(t), 'ca.pem');
	writeFileSync(ca, 'PEM');
	t.is(readSyslogSettings({syslog: 'tls://logs:6514', syslogCa: ca}, 'CONFIG')?.target.ca, readFileSync(ca, 'utf8'));
});
