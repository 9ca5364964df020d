/**
 * One local nats-server for the relay rows, set up as `xi-exec relay cert` and `relay config` set
 * up a production broker: its certificate from the fleet CA (role xi-exec:broker), TLS with
 * `verify_and_map` (each agent's certificate is its broker user), one user per relay agent with
 * its least-privilege permissions (brokerConfig, generated from the agents' names), on 127.0.0.1
 * with a port the server picks (read back from its ports file). Skipped with a reason when
 * nats-server is not installed (Debian's package; .ci/run installs it).
 */
import {spawn, spawnSync, type ChildProcess} from 'node:child_process';
import {readdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {controllerPaths, loadCertificateAuthority} from '../source/home.js';
import {brokerConfig} from '../source/relay/broker-config.js';
import {brokerFiles, writeBrokerCertificate} from '../source/relay/broker-files.js';
import {trackChild} from './cleanup.js';
import {sleep} from './processes.js';

export type Broker = {url: string; process: ChildProcess; version: string};

/** Why the relay rows cannot be measured here, if they cannot. */
export function natsServerMissing(): string | undefined {
	const probe = spawnSync('nats-server', ['--version'], {encoding: 'utf8'});
	return probe.error || probe.status !== 0 ? 'nats-server is not installed (apt-get install nats-server)' : undefined;
}

/** The client URL in nats-server's ports file; undefined while the file is still being written (empty or torn). */
function portsUrl(text: string): string | undefined {
	try {
		return (JSON.parse(text) as {nats?: string[]}).nats?.[0];
	} catch {
		return undefined;
	}
}

export async function startBroker(controllerHome: string, directory: string, agents: readonly string[]): Promise<Broker> {
	const ca = await loadCertificateAuthority(controllerPaths(controllerHome));
	await writeBrokerCertificate(directory, ca, {dnsNames: ['localhost'], ipAddresses: ['127.0.0.1']}, new Date());
	const files = brokerFiles(directory);
	writeFileSync(files.config, brokerConfig({listen: '127.0.0.1:-1', files, agents}) + `ports_file_dir: ${JSON.stringify(directory)}\n`);
	const child = trackChild(spawn('nats-server', ['-c', files.config], {stdio: ['ignore', 'ignore', 'pipe']}));
	let log = '';
	child.stderr!.on('data', (chunk: Buffer) => {
		log = (log + chunk.toString()).slice(-10_000);
	});
	for (let attempt = 0; attempt < 1200; attempt++) {
		if (child.exitCode !== null) {
			throw new Error(`nats-server exited with ${child.exitCode}: ${log}`);
		}

		const ports = readdirSync(directory).find(name => name.endsWith('.ports'));
		const url = ports ? portsUrl(readFileSync(join(directory, ports), 'utf8')) : undefined;
		if (url) {
			const version = spawnSync('nats-server', ['--version'], {encoding: 'utf8'}).stdout.trim();
			return {url: url.replace(/^\w+:/, 'nats:'), process: child, version};
		}

		await sleep(25);
	}

	child.kill();
	throw new Error(`nats-server did not report its port within 30 s: ${log}`);
}
