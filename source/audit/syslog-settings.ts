/**
 * Syslog settings, the same keys in either side's config.json:
 *
 *   "syslog": "udp://HOST:PORT" | "tcp://HOST:PORT" | "tls://HOST:PORT"
 *   "syslogCa": "/path/ca.pem"        the CA the collector's TLS certificate chains to (default: the system's)
 *   "syslogSdId": "xi-exec@PEN"        a private SD-ID for the request id (default: none; see syslog.ts)
 *   "syslogSpoolBytes": 16777216       the spool's bound (default 16 MiB; at least 4096)
 *
 * and the forwarder they make, with its spool beside the audit log.
 */
import {XiError} from '../errors.js';
import {readTextFile} from '../io/files.js';
import {createSyslogForwarder, isPrivateSdId, parseSyslogUrl, type ForwarderOptions, type SyslogForwarder, type SyslogTarget} from './syslog.js';
import {defaultSpoolBytes, openSpool, spoolPath} from './syslog-spool.js';

export type SyslogSettings = {url: string; target: SyslogTarget; sdId?: string; spoolBytes: number};

export function readSyslogSettings(raw: Record<string, unknown>, configPath: string): SyslogSettings | undefined {
	const url = raw['syslog'];
	if (url === undefined) {
		return undefined;
	}

	const target = typeof url === 'string' ? parseSyslogUrl(url) : 'it must be a string';
	if (typeof target === 'string') {
		throw new XiError('CONFIG_INVALID', `"syslog" in ${configPath}: ${target}.`);
	}

	const {syslogCa: ca, syslogSdId: sdId, syslogSpoolBytes: spoolBytes} = raw;
	if (ca !== undefined && typeof ca !== 'string') {
		throw new XiError('CONFIG_INVALID', `"syslogCa" in ${configPath} must be the path of a PEM file (received ${JSON.stringify(ca)}).`);
	}

	if (sdId !== undefined && (typeof sdId !== 'string' || !isPrivateSdId(sdId))) {
		throw new XiError('CONFIG_INVALID', `"syslogSdId" in ${configPath} must be NAME@NUMBER (your organisation's private enterprise number; not 32473, which RFC 5612 reserves for documentation) (received ${JSON.stringify(sdId)}).`);
	}

	if (spoolBytes !== undefined && !(typeof spoolBytes === 'number' && Number.isSafeInteger(spoolBytes) && spoolBytes >= 4096)) {
		throw new XiError('CONFIG_INVALID', `"syslogSpoolBytes" in ${configPath} must be a whole number of bytes of at least 4096 (received ${JSON.stringify(spoolBytes)}).`);
	}

	return {
		url: url as string,
		target: {...target, ...(ca ? {ca: readTextFile(ca, 'the syslog CA (syslogCa)')} : {})},
		...(sdId ? {sdId} : {}),
		spoolBytes: spoolBytes ?? defaultSpoolBytes,
	};
}

export function openSyslogForwarder(settings: SyslogSettings, auditLogPath: string, appName: string, options: Pick<ForwarderOptions, 'flushTimeoutMs' | 'onEvent'> = {}): SyslogForwarder {
	return createSyslogForwarder(settings.target, appName, {
		...options,
		spool: openSpool(spoolPath(auditLogPath), settings.spoolBytes),
		...(settings.sdId ? {sdId: settings.sdId} : {}),
	});
}
