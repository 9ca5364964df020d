/**
 * A syslog message as RFC 5424 frames it, and a syslog target as a URL names it. No IO (the host
 * name is a parameter, by default the OS's; the process id is this process's). syslog.ts says
 * what is sent and when.
 */
import {hostname} from 'node:os';
import {canonical, type AuditRecord} from './record.js';

export type SyslogTarget = {transport: 'udp' | 'tcp' | 'tls'; host: string; port: number; ca?: string};

/** Facility 13 (log audit), severity 6 (informational). */
const priority = (13 * 8) + 6;
const softwareVersion = '0.1.0';

/** name@number, as RFC 5424 §6.3.2 requires of an SD-ID that is not registered with IANA. */
export const sdIdPattern = /^[\x21-\x7E]{1,32}$/;

export function isPrivateSdId(value: string): boolean {
	const at = value.indexOf('@');
	return sdIdPattern.test(value) && !/[= \]"]/.test(value) && at > 0 && /^\d+(\.\d+)*$/.test(value.slice(at + 1)) && value.slice(at + 1) !== '32473';
}

export function formatSyslog(record: AuditRecord, appName: string, host = hostname(), sdId?: string): string {
	const sequenceId = (record.seq % 2_147_483_647) + 1;
	const ours = sdId && record['requestId'] !== undefined ? `[${sdId} requestId="${escapeSd(String(record['requestId']))}" seq="${record.seq}" log="${escapeSd(record.log)}"]` : '';
	const sd = `[origin software="xi-exec" swVersion="${softwareVersion}"][meta sequenceId="${sequenceId}"]${ours}`;
	const msgId = record.event.replace(/[^\x21-\x7E]/g, '').slice(0, 32) || '-';
	return `<${priority}>1 ${record.ts} ${host.slice(0, 255) || '-'} ${appName} ${process.pid} ${msgId} ${sd} ${canonical(record)}`;
}

function escapeSd(value: string): string {
	return value.replace(/["\\\]]/g, character => `\\${character}`);
}

export function parseSyslogUrl(url: string): SyslogTarget | string {
	const match = /^(udp|tcp|tls):\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(url);
	if (!match) {
		return `syslog target ${JSON.stringify(url)} must be udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT`;
	}

	return {transport: match[1] as SyslogTarget['transport'], host: match[2]!.replace(/^\[|\]$/g, ''), port: Number(match[3])};
}
