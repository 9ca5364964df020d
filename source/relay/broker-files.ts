/**
 * The broker's files in one directory the operator gives (`xi-exec relay cert --dir DIR`):
 *
 *   broker.key / broker.pem   the broker's key (0600) and its certificate, role xi-exec:broker
 *   ca.pem                    the fleet CA certificate, which clients are verified against
 *   nats-server.conf          the configuration `xi-exec relay config` generates (broker-config.ts)
 *   nats-server.pid           where nats-server writes its pid, for a reload after pairing changes
 *
 * The key is made here, beside the controller, and copied to the broker host with the rest of the
 * directory; the broker is transport, not trust, so holding its key lets no one command an agent.
 */
import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {XiError} from '../errors.js';
import {ensureDirectory, existsSync, writeFileAtomic} from '../io/files.js';
import type {CertificateAuthority} from '../pki/issue.js';
import {brokerConfig, type BrokerCluster, type BrokerFiles} from './broker-config.js';

export function brokerFiles(directory: string): BrokerFiles & {config: string} {
	return {
		key: join(directory, 'broker.key'),
		cert: join(directory, 'broker.pem'),
		ca: join(directory, 'ca.pem'),
		config: join(directory, 'nats-server.conf'),
		pidFile: join(directory, 'nats-server.pid'),
	};
}

export async function writeBrokerCertificate(directory: string, ca: CertificateAuthority, hosts: {dnsNames: string[]; ipAddresses: string[]}, now: Date): Promise<{serial: string; notAfter: Date}> {
	const {generateKeyPair, issueCertificate, privateKeyToPem} = await import('../pki/index.js');
	if (hosts.dnsNames.length + hosts.ipAddresses.length === 0) {
		throw new XiError('USAGE', 'relay cert needs the names clients dial the broker by: --host broker.example.net (repeatable; an IP address works too).');
	}

	ensureDirectory(directory);
	const files = brokerFiles(directory);
	const keys = await generateKeyPair();
	const certificate = await issueCertificate({ca, publicKey: keys.publicKey, identity: {role: 'broker'}, now, ...hosts});
	writeFileAtomic(files.key, await privateKeyToPem(keys.privateKey), 0o600);
	writeFileAtomic(files.cert, certificate.toString('pem'), 0o644);
	writeFileAtomic(files.ca, ca.certificate.toString('pem'), 0o644);
	return {serial: certificate.serialNumber.toLowerCase(), notAfter: certificate.notAfter};
}

/** The files `relay cert` writes, checked before a configuration names them. */
export function missingBrokerFiles(directory: string): string[] {
	const files = brokerFiles(directory);
	return [files.key, files.cert, files.ca].filter(path => !existsSync(path));
}

/** Writes the broker's configuration for these agents (readable by the broker's own user: it holds no secret). */
export function writeBrokerConfig(directory: string, options: {listen: string; agents: readonly string[]; cluster?: BrokerCluster}): string {
	const files = brokerFiles(directory);
	if (missingBrokerFiles(directory).length > 0) {
		throw new XiError('RELAY_NOT_SET_UP', `${directory} lacks the broker's key or certificate (${missingBrokerFiles(directory).join(', ')}); run \`xi-exec relay cert --dir ${directory} --host NAME\` first.`);
	}

	writeFileAtomic(files.config, brokerConfig({listen: options.listen, files, agents: options.agents, ...(options.cluster ? {cluster: options.cluster} : {})}), 0o644);
	return files.config;
}

/** Asks a running nats-server to re-read its configuration (SIGHUP to the pid in its pid file). */
export function reloadBroker(pidFile: string): 'reloaded' | 'not-running' {
	if (!existsSync(pidFile)) {
		return 'not-running';
	}

	const pid = Number(readFileSync(pidFile, 'utf8').trim());
	if (!Number.isInteger(pid) || pid <= 0) {
		return 'not-running';
	}

	try {
		process.kill(pid, 'SIGHUP');
		return 'reloaded';
	} catch {
		return 'not-running';
	}
}
