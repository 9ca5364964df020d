/**
 * What `doctor` says about syslog: the collector (a TCP or TLS connection tried now; UDP cannot be
 * checked), how many records wait in the spool, and how many were dropped and why.
 */
import {connect as connectTcp} from 'node:net';
import {connect as connectTls} from 'node:tls';
import {openSpool, spoolPath} from './syslog-spool.js';
import type {SyslogSettings} from './syslog-settings.js';
import type {SyslogTarget} from './syslog.js';

export type SyslogFinding = {level: 'ok' | 'warn' | 'fail'; subject: string; message: string};

/** Connects once (at most `timeoutMs`): undefined when the collector accepts, else why not. */
export async function probeCollector(target: SyslogTarget, timeoutMs = 2000): Promise<string | undefined> {
	if (target.transport === 'udp') {
		return undefined;
	}

	return new Promise(resolve => {
		const socket = target.transport === 'tls'
			? connectTls({host: target.host, port: target.port, ...(target.ca ? {ca: [target.ca]} : {}), minVersion: 'TLSv1.2'})
			: connectTcp({host: target.host, port: target.port});
		const done = (problem: string | undefined) => {
			clearTimeout(timer);
			socket.destroy();
			resolve(problem);
		};

		const timer = setTimeout(() => done(`no answer in ${timeoutMs} ms`), timeoutMs);
		socket.once(target.transport === 'tls' ? 'secureConnect' : 'connect', () => done(undefined));
		socket.once('error', error => done((error as NodeJS.ErrnoException).code ?? error.message));
	});
}

export async function syslogFindings(settings: SyslogSettings | undefined, auditLogPath: string, probe = probeCollector): Promise<SyslogFinding[]> {
	if (!settings) {
		return [{level: 'ok', subject: 'syslog', message: 'not configured ("syslog" in config.json forwards the audit trail)'}];
	}

	const status = openSpool(spoolPath(auditLogPath), settings.spoolBytes).status();
	const problem = await probe(settings.target);
	const dropped = Object.entries(status.dropped).filter(([, count]) => (count ?? 0) > 0).map(([reason, count]) => `${count} (${reason})`);
	const collector = settings.target.transport === 'udp'
		? `${settings.url}: UDP, delivery cannot be confirmed`
		: (problem ? `${settings.url} unreachable: ${problem}` : `${settings.url} reachable`);
	const spool = `${status.waiting} record${status.waiting === 1 ? '' : 's'} waiting in the spool (${status.bytes} of ${settings.spoolBytes} bytes)`;
	return [
		{level: problem || status.waiting > 0 ? 'warn' : 'ok', subject: 'syslog', message: `${collector}; ${spool}${status.waiting > 0 ? ', sent by the next xi-exec command that writes the audit log once it is back' : ''}`},
		...(dropped.length > 0 ? [{level: 'warn' as const, subject: 'syslog dropped', message: `${dropped.join(', ')} records never reached the collector (still in the local audit log)`}] : []),
	];
}
