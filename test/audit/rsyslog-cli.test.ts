/**
 * Syslog that delivers, against Debian's rsyslogd (test/helpers/rsyslogd.ts): 50 one-shot CLI
 * invocations (`xi-exec token create`, each writing a record and its closing checkpoint) forward to
 * rsyslogd over UDP, TCP and TLS, and every record of the audit log arrives once, in chain order.
 * Over TCP and TLS the collector is stopped after the 20th invocation: the next ten spool what they
 * cannot send, `xi-exec doctor` says how many records wait, and once it is back the 31st
 * invocation sends the spool before its own records. Skipped with the reason when rsyslogd (or, for
 * TLS, rsyslog-openssl) is not installed; .ci/run installs both.
 */
import {execFileSync} from 'node:child_process';
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {readAuditRecords} from '../../source/audit/read-log.js';
import {controllerCli, runCli, temporaryDirectory} from '../helpers/fleet.js';
import {rsyslogd, rsyslogTls, rsyslogVersion, startCollector, until, type Transport} from '../helpers/rsyslogd.js';

const invocations = 50;
const stopAfter = 20;
const downFor = 10;

for (const transport of ['udp', 'tcp', 'tls'] as const satisfies readonly Transport[]) {
	const missing = rsyslogd === undefined ? 'rsyslogd is not installed (Debian\'s rsyslog package; .ci/run installs it)' : (transport === 'tls' && !rsyslogTls ? 'rsyslogd has no TLS driver (Debian\'s rsyslog-openssl package; .ci/run installs it)' : undefined);
	const title = `every record of ${invocations} one-shot CLI calls reaches rsyslogd over ${transport.toUpperCase()}, once, in chain order${transport === 'udp' ? '' : '; while the collector is down they wait in the spool (doctor says how many) and arrive when it is back'}`;
	if (missing) {
		test(`${title}: skipped`, t => {
			t.log(`SKIPPED: ${missing}`);
			t.pass();
		});
		continue;
	}

	test(title, async t => {
		t.timeout(900_000);
		const directory = temporaryDirectory('xi-exec-rsyslog-cli-');
		t.teardown(() => execFileSync('rm', ['-rf', directory]));
		const tls = transport === 'tls' ? certificate(directory) : undefined;
		const collector = await startCollector(directory, transport, tls);
		t.teardown(async () => collector.stop());
		t.log(`ran: rsyslogd ${rsyslogVersion ?? ''} over ${transport.toUpperCase()} on 127.0.0.1:${collector.port}`);
		const home = join(directory, 'home');
		t.is((await runCli(controllerCli, ['init', '--home', home])).code, 0);
		writeFileSync(join(home, 'config.json'), JSON.stringify({syslog: `${transport}://127.0.0.1:${collector.port}`, ...(tls ? {syslogCa: tls.ca} : {})}));
		const hashes = () => readAuditRecords(join(home, 'audit', 'controller.jsonl')).map(record => record.hash);
		const arrived = () => collector.messages().map(message => (JSON.parse(message) as {hash: string}).hash);

		for (let call = 1; call <= invocations; call++) {
			if (transport !== 'udp' && call === stopAfter + 1) {
				await until(() => arrived().length === hashes().length, 'the records so far');
				await collector.stop();
			}

			if (transport !== 'udp' && call === stopAfter + downFor + 1) {
				const waiting = hashes().length - arrived().length;
				const doctor = await runCli(controllerCli, ['doctor', '--home', home]);
				t.regex(doctor.stdout, new RegExp(`warn +syslog +${transport}://127\\.0\\.0\\.1:${collector.port} unreachable: ECONNREFUSED; ${waiting} records waiting in the spool`), doctor.stdout);
				t.is(waiting, downFor * 2, 'each call while it was down: its record and its checkpoint');
				await collector.start();
			}

			const result = await runCli(controllerCli, ['token', 'create', '--home', home, '--name', `t${call}`, '--scripts', '*', '--on', 'all']);
			t.is(result.code, 0, result.stderr);
		}

		await until(() => arrived().length >= hashes().length, `all ${hashes().length} records`, 60_000);
		t.is(hashes().length, invocations * 2);
		t.deepEqual(arrived(), hashes());
		const doctor = await runCli(controllerCli, ['doctor', '--home', home]);
		t.regex(doctor.stdout, transport === 'udp' ? /ok +syslog +udp:\S+: UDP, delivery cannot be confirmed; 0 records waiting/ : /ok +syslog +\S+ reachable; 0 records waiting in the spool/);
	});
}

/** A self-signed certificate for 127.0.0.1 (the collector's, and the CA the forwarder trusts). */
function certificate(directory: string): {ca: string; cert: string; key: string} {
	const cert = join(directory, 'collector.pem');
	const key = join(directory, 'collector.key');
	execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], {stdio: 'ignore'});
	return {ca: cert, cert, key};
}
