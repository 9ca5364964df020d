/**
 * Turns the agent's opt-in metrics on: builds them (prom-client is imported only here, so an
 * agent without "metrics" in config.json never loads it) with the facts read at each scrape, and
 * starts the loopback listener. The caller feeds every log event to `observe`.
 */
import {openSpool, spoolPath} from '../../source/audit/syslog-spool.js';
import {readSyslogSettings} from '../../source/audit/syslog-settings.js';
import {XiError} from '../../source/errors.js';
import {formatHostPort, type HostPort} from '../../source/io/address.js';
import {readJsonFile, readTextFile} from '../../source/io/files.js';
import {certificateFacts} from '../../source/pki/certificate-facts.js';
import {parseLoopbackAddress} from './loopback-address.js';

export type RunningMetrics = {observe: (event: string, fields: Record<string, unknown>) => void; address: () => HostPort; close: () => Promise<void>};

/** The agent home's files the metrics read (agent/home.ts agentPaths()). */
export type MetricsFiles = {config: string; cert: string; auditLog: string};

export async function startAgentMetrics(paths: MetricsFiles, listen: string, isListed: (script: string) => boolean): Promise<RunningMetrics> {
	const address = parseLoopbackAddress(listen);
	if (typeof address === 'string') {
		throw new XiError('CONFIG_INVALID', `"metrics" in ${paths.config}: ${address}.`);
	}

	const [{createAgentMetrics}, {listenForMetrics}] = await Promise.all([import('./agent-metrics.js'), import('./metrics-listener.js')]);
	const syslog = readSyslogSettings(readJsonFile(paths.config, 'the agent configuration') as Record<string, unknown>, paths.config);
	const metrics = createAgentMetrics({
		isListed,
		// Read at each scrape: a renewal replaces the certificate while the agent runs.
		certificateExpires() {
			try {
				return certificateFacts(Buffer.from(readTextFile(paths.cert, 'the agent certificate')))?.notAfter;
			} catch {
				return undefined;
			}
		},
		spoolWaiting: () => (syslog ? openSpool(spoolPath(paths.auditLog), syslog.spoolBytes).status().waiting : 0),
		now: () => new Date(),
	});
	const listener = await listenForMetrics(address, metrics).catch((error: NodeJS.ErrnoException) => {
		throw new XiError('CONFIG_INVALID', `Cannot listen for metrics on ${formatHostPort(address)} ("metrics" in ${paths.config}): ${error.code ?? error.message}.`, {cause: error});
	});
	return {observe: metrics.observe, address: listener.address, close: listener.close};
}
