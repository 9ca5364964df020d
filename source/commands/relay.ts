/**
 * `xi-exec relay cert` and `xi-exec relay config`: the broker's certificate (role xi-exec:broker,
 * issued by the fleet CA) and its nats-server configuration, generated from the registry (one
 * user per relay agent, least privilege: broker-config.ts). What `relay config` was told is kept
 * (relay-settings.ts), so pairing and unpairing a relay agent write the configuration again and
 * reload the broker (relay/broker-refresh.ts). Each step is audited.
 */
import {isIP} from 'node:net';
import {resolve} from 'node:path';
import {withControllerAudit} from '../audit/controller-log.js';
import {XiError} from '../errors.js';
import {loadCertificateAuthority, type ControllerPaths} from '../home.js';
import {parseHostPort} from '../io/address.js';
import {defaultCaller, type CommandIo} from '../io/command-io.js';
import type {BrokerCluster} from '../relay/broker-config.js';
import {brokerFiles, writeBrokerCertificate} from '../relay/broker-files.js';
import {describeOutcome, writeAndReload} from '../relay/broker-refresh.js';
import {readRelaySettings, writeRelaySettings, type RelaySettings} from '../relay/relay-settings.js';

export async function relayCertCommand(paths: ControllerPaths, input: {dir: string | undefined; hosts: string[]; json: boolean}, io: CommandIo): Promise<number> {
	if (!input.dir) {
		throw new XiError('USAGE', 'relay cert needs --dir DIR: where the broker\'s key, certificate and the CA certificate are written.');
	}

	const directory = resolve(input.dir);
	const hosts = {dnsNames: input.hosts.filter(host => isIP(host) === 0), ipAddresses: input.hosts.filter(host => isIP(host) !== 0)};
	const ca = await loadCertificateAuthority(paths);
	const issued = await writeBrokerCertificate(directory, ca, hosts, new Date());
	const files = brokerFiles(directory);
	await withControllerAudit(paths, undefined, async audit => audit.append({event: 'relay.certificate', serial: issued.serial, notAfter: issued.notAfter.toISOString(), hosts: input.hosts, directory, caller: defaultCaller()}));
	io.stdout(input.json
		? `${JSON.stringify({serial: issued.serial, notAfter: issued.notAfter.toISOString(), key: files.key, cert: files.cert, ca: files.ca})}\n`
		: [
			`Broker certificate (role xi-exec:broker), serial ${issued.serial}, valid until ${issued.notAfter.toISOString()}, for ${input.hosts.join(', ')}:`,
			`  ${files.key} (0600), ${files.cert}, ${files.ca}`,
			`Next: \`xi-exec relay config --dir ${directory}\` writes the broker's configuration.`,
			'',
		].join('\n'));
	return 0;
}

export type RelayConfigInput = {dir?: string; listen?: string; clusterName?: string; clusterListen?: string; routes: string[]; reload: boolean; json: boolean};

export async function relayConfigCommand(paths: ControllerPaths, input: RelayConfigInput, io: CommandIo): Promise<number> {
	const kept = readRelaySettings(paths.home);
	const directory = input.dir ? resolve(input.dir) : kept?.directory;
	if (!directory) {
		throw new XiError('USAGE', 'relay config needs --dir DIR (the directory `xi-exec relay cert --dir DIR` wrote); later runs remember it.');
	}

	const settings: RelaySettings = {directory, listen: hostPort('--listen', input.listen ?? kept?.listen ?? '0.0.0.0:4222'), ...clusterOf(input, kept)};
	const outcome = await withControllerAudit(paths, undefined, async audit => writeAndReload(paths, settings, audit, input.reload));
	writeRelaySettings(paths.home, settings);
	io.stdout(input.json ? `${JSON.stringify(outcome)}\n` : `${describeOutcome(outcome)}\n`);
	return 0;
}

function hostPort(flag: string, value: string): string {
	const parsed = parseHostPort(value);
	if (typeof parsed === 'string') {
		throw new XiError('USAGE', `${flag} ${parsed}; for example ${flag} 0.0.0.0:4222.`);
	}

	return value;
}

function clusterOf(input: RelayConfigInput, kept: RelaySettings | undefined): {cluster?: BrokerCluster} {
	if (input.routes.length === 0) {
		if (input.clusterName !== undefined || input.clusterListen !== undefined) {
			throw new XiError('USAGE', '--cluster-name and --cluster-listen need the cluster\'s nodes: --route nats://broker1:6222 for each node (all of them, on every node).');
		}

		return kept?.cluster ? {cluster: kept.cluster} : {};
	}

	const bad = input.routes.filter(route => !/^nats(-route)?:\/\/[^\s/@]+:\d{1,5}$/.test(route));
	if (bad.length > 0) {
		throw new XiError('USAGE', `--route ${bad.join(', ')}: each route is nats://HOST:PORT of one cluster node (no user or password: routes authenticate with the broker certificate).`);
	}

	const name = input.clusterName ?? 'xi-exec';
	if (!/^[\w-]{1,64}$/.test(name)) {
		throw new XiError('USAGE', `--cluster-name ${JSON.stringify(name)}: letters, digits, - and _ only.`);
	}

	return {cluster: {name, listen: hostPort('--cluster-listen', input.clusterListen ?? '0.0.0.0:6222'), routes: [...input.routes]}};
}
