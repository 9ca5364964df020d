/**
 * Forwarding to a real syslog receiver: Debian's rsyslogd, started by the test as a child process
 * (no fork, its own config, pid file and work directory in a temporary directory, no system socket)
 * with imudp and imtcp on free ports of 127.0.0.1, writing what it parsed to a file. Records
 * forwarded over UDP and TCP arrive and parse as RFC 5424 (protocol version 1), with the event as
 * MSGID, the request id in structured data and the canonical record as the message. Skipped, with
 * the reason in the test log, when rsyslogd is not installed (.ci/run installs it); the Node
 * listener tests in syslog.test.ts run either way.
 */
import {spawn, spawnSync, type ChildProcess} from 'node:child_process';
import {createSocket} from 'node:dgram';
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import test, {type ExecutionContext} from 'ava';
import {openAuditLog} from '../../source/audit/file-log.js';
import {canonical} from '../../source/audit/record.js';
import {createSyslogForwarder, type SyslogTarget} from '../../source/audit/syslog.js';
import {freePort, until} from '../helpers/rsyslogd.js';
import {auditKey, fakeClock, fileLines, parseLines, temporaryDirectory} from './helpers.js';

const rsyslogd = ['/usr/sbin/rsyslogd', '/sbin/rsyslogd'].find(path => existsSync(path));
const version = rsyslogd ? /rsyslogd\s+(\S+)/.exec(spawnSync(rsyslogd, ['-v'], {encoding: 'utf8'}).stdout)?.[1] : undefined;
const key = await auditKey('agent-key');

type Received = {version: string; app: string; msgId: string; structuredData: string; message: string};

type Receiver = {udpPort: number; tcpPort: number; received: () => Received[]; output: () => string; stop: () => Promise<void>};

/** rsyslogd on free ports, writing each message's parsed RFC 5424 fields, tab-separated, to a file. */
async function startRsyslog(directory: string): Promise<Receiver> {
	const [udpPort, tcpPort] = [await freePort('udp'), await freePort('tcp')];
	const received = join(directory, 'received.tsv');
	const config = join(directory, 'rsyslog.conf');
	writeFileSync(config, [
		`global(workDirectory="${directory}")`,
		'module(load="imudp")',
		'module(load="imtcp")',
		`input(type="imudp" address="127.0.0.1" port="${udpPort}")`,
		`input(type="imtcp" address="127.0.0.1" port="${tcpPort}")`,
		'template(name="fields" type="string" string="%protocol-version%\\t%app-name%\\t%msgid%\\t%structured-data%\\t%msg%\\n")',
		`*.* action(type="omfile" file="${received}" template="fields")`,
		'',
	].join('\n'));
	let output = '';
	const child: ChildProcess = spawn(rsyslogd!, ['-n', '-f', config, '-i', join(directory, 'rsyslogd.pid')], {stdio: ['ignore', 'pipe', 'pipe']});
	child.stdout!.on('data', (chunk: Buffer) => {
		output += chunk.toString('utf8');
	});
	child.stderr!.on('data', (chunk: Buffer) => {
		output += chunk.toString('utf8');
	});
	const read = () => (existsSync(received) ? readFileSync(received, 'utf8').split('\n').filter(Boolean).map(line => {
		const [version = '', app = '', msgId = '', structuredData = '', ...message] = line.split('\t');
		return {version, app, msgId, structuredData, message: message.join('\t')};
	}) : []);
	const receiver: Receiver = {
		udpPort,
		tcpPort,
		received: read,
		output: () => output,
		async stop() {
			if (child.exitCode === null && child.signalCode === null) {
				const exited = new Promise(resolve => child.once('exit', resolve));
				child.kill('SIGTERM');
				await exited;
			}
		},
	};

	// Ready when a probe sent over UDP has been written (UDP loses what comes before the socket is bound).
	const probe = createSocket('udp4');
	try {
		await until(() => {
			if (child.exitCode !== null) {
				throw new Error(`rsyslogd exited with ${child.exitCode}: ${output}`);
			}

			probe.send('<110>1 2026-01-14T10:00:00.000Z - probe - - - ready', udpPort, '127.0.0.1');
			return read().some(item => item.app === 'probe');
		}, 'rsyslogd to receive a probe');
	} catch (error) {
		await receiver.stop();
		throw error;
	} finally {
		probe.close();
	}

	return receiver;
}

const rsyslogTest = rsyslogd ? test.serial : test.skip;
if (!rsyslogd) {
	test('a real syslog receiver (rsyslog): skipped', t => {
		t.log('SKIPPED: rsyslogd is not installed (/usr/sbin/rsyslogd); install Debian\'s rsyslog package (.ci/run does) to forward to a real receiver. The Node UDP and TCP listener tests in syslog.test.ts ran instead.');
		t.pass();
	});
}

let receiver: Receiver | undefined;
const receiverDirectory = mkdtempSync(join(tmpdir(), 'xi-exec-rsyslog-'));
test.before(async () => {
	if (rsyslogd) {
		receiver = await startRsyslog(receiverDirectory);
	}
});

test.after.always(async () => {
	await receiver?.stop();
	rmSync(receiverDirectory, {recursive: true, force: true});
});

/** Forwards three requests (with hostile arguments) and their checkpoints through `transport`; returns the records written. */
async function forwardThrough(t: ExecutionContext, transport: SyslogTarget['transport'], appName: string) {
	const forwarder = createSyslogForwarder({transport, host: '127.0.0.1', port: transport === 'udp' ? receiver!.udpPort : receiver!.tcpPort}, appName, {sdId: 'example@99999'});
	const log = openAuditLog({path: join(temporaryDirectory(t), 'audit.jsonl'), side: 'agent', signer: key.signer, now: fakeClock(), checkpointEvery: 2, forward: forwarder.forward});
	for (const requestId of ['req-1', 'req-2', 'req-"3"]']) {
		await log.append({event: 'run.request', requestId, agent: 'web1', args: ['a\nb', '\u001B[31m', 'é'], caller: 'ålice'});
	}

	await log.close();
	const records = parseLines(fileLines(log.path));
	await until(() => receiver!.received().filter(item => item.app === appName).length >= records.length, `${records.length} records from rsyslog over ${transport}`);
	await forwarder.close();
	t.is(forwarder.dropped(), 0);
	return records;
}

for (const [transport, appName] of [['udp', 'xi-exec-agent'], ['tcp', 'xi-exec']] as const) {
	rsyslogTest(`rsyslog receives every record over ${transport.toUpperCase()} and parses it as RFC 5424, registered and private structured data`, async t => {
		t.log(`ran: rsyslogd ${version ?? '(version unknown)'} (${rsyslogd!}) receiving over ${transport.toUpperCase()} on 127.0.0.1:${transport === 'udp' ? receiver!.udpPort : receiver!.tcpPort}`);
		const records = await forwardThrough(t, transport, appName);
		t.is(records.length, 5, 'three requests and two checkpoints');
		const received = receiver!.received().filter(item => item.app === appName);
		const expected = records.map(record => ({
			version: '1',
			app: appName,
			msgId: record.event,
			structuredData: `[origin software="xi-exec" swVersion="0.1.0"][meta sequenceId="${record.seq + 1}"]${record['requestId'] === undefined ? '' : `[example@99999 requestId="${String(record['requestId']).replaceAll('"', '\\"').replaceAll(']', '\\]')}" seq="${record.seq}" log="${record.log}"]`}`,
			message: canonical(record),
		}));
		// UDP may reorder; TCP keeps the order of the log.
		t.deepEqual(transport === 'tcp' ? received : [...received].sort((a, b) => a.message.localeCompare(b.message)), transport === 'tcp' ? expected : [...expected].sort((a, b) => a.message.localeCompare(b.message)));
		t.deepEqual(received.map(item => (JSON.parse(item.message) as {hash: string}).hash).sort(), records.map(record => record.hash).sort(), 'each message is a record of the log, once');
	});
}
