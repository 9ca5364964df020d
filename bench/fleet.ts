/**
 * The bench fleet on disk: one controller home (fleet CA, controller certificate, registry) and one
 * agent home per agent, each with its own key and certificate minted by our pki module (the way
 * pairing issues them), its own port on agentHost (127.R.S.3, environment.ts) and /usr/bin/uptime on its allowlist.
 */
import {chmodSync, copyFileSync, cpSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {controllerPaths, loadControllerCredentials, openControllerRegistry, type TlsCredentials} from '../source/home.js';
import {certificateSha256, generateKeyPair, issueCertificate, normaliseSerial, privateKeyToPem, publicKeySha256} from '../source/pki/index.js';
import {agentHost} from './environment.js';
import {cachedFleet} from './fleet-cache.js';
import {loadIssuer, type Issuer} from './issuer.js';
import {addAgent, type AgentRecord, type Registry} from '../source/registry/model.js';
import {allowScript, initAgent} from '../agent/commands.js';
import {agentPaths, readAgentConfig, writeAgentConfig, writePins} from '../agent/home.js';

export const script = {name: 'uptime', path: '/usr/bin/uptime'};

/**
 * The agents' TLS handshake limit, raised from the default 10 s to node's own default (what the
 * floor's bare servers have). Hundreds of agents packed into a few processes on a small machine
 * queue handshakes behind one another's spawns; the bench measures that throughput, not timeouts.
 */
export const benchHandshakeTimeoutMs = 120_000;

export type BenchAgent = {name: string; home: string; port: number; record: AgentRecord};

export type BenchFleet = {
	controllerHome: string;
	/** The controller's client credentials, as `xi-exec run` loads them. */
	credentials: TlsCredentials;
	agents: BenchAgent[];
};

export function agentName(index: number): string {
	return `bench-${String(index + 1).padStart(4, '0')}`;
}

/**
 * A fleet of `count` agents on ports firstPort, firstPort + 1, ... of agentHost, registered in one
 * update. Their keys and certificates come from the fleet cache (fleet-cache.ts; minted on the
 * first run of a size). Their homes are written fresh: one template home made by the agent's own
 * commands (init, allowlist entry, pins: the real formats and checks), copied for each agent with
 * its name and port, without the fsync the agent's commands do (a bench home needs no durability,
 * and 10,000 homes × 5 fsyncs took minutes).
 */
export async function createFleet(root: string, count: number, firstPort: number, log: (text: string) => void = () => undefined): Promise<BenchFleet & {minted: boolean}> {
	const cached = await cachedFleet(count, agentName, log);
	const controllerHome = join(root, 'controller');
	cpSync(cached.controllerHome, controllerHome, {recursive: true});
	const paths = controllerPaths(controllerHome);
	const issuer = await loadIssuer(controllerHome);
	const template = agentPaths(join(root, 'agent-template'));
	initAgent(template, {name: 'bench-template', listen: '127.0.0.1:1', tags: ['bench=yes']});
	const config = readAgentConfig(template);
	allowScript(template, script.name, script.path, {description: 'Load and uptime'});
	writePins(template, {caSha256: publicKeySha256(issuer.ca.certificate), controllerSerials: [issuer.controllerSerial]});
	const files = {allowlist: readFileSync(template.allowlist), pins: readFileSync(template.pins), ca: issuer.ca.certificate.toString('pem')};
	const now = new Date().toISOString();
	const agents = cached.agents.map((minted, index): BenchAgent => {
		const port = firstPort + index;
		const paths = agentPaths(join(root, 'agents', minted.name));
		mkdirSync(paths.home, {recursive: true, mode: 0o700});
		writeFileSync(paths.config, JSON.stringify({...config, name: minted.name, listen: `${agentHost}:${port}`, limits: {...config.limits, handshakeTimeoutMs: benchHandshakeTimeoutMs}}, null, '\t') + '\n', {mode: 0o600});
		writeFileSync(paths.allowlist, files.allowlist, {mode: 0o600});
		writeFileSync(paths.pins, files.pins, {mode: 0o600});
		writeFileSync(paths.ca, files.ca, {mode: 0o644});
		copyFileSync(cached.keyOf(minted.name), paths.key);
		chmodSync(paths.key, 0o600);
		const certificate = readFileSync(cached.certOf(minted.name), 'utf8');
		writeFileSync(paths.cert, certificate, {mode: 0o644});
		const record: AgentRecord = {
			name: minted.name,
			address: `${agentHost}:${port}`,
			tags: {bench: 'yes'},
			serial: minted.serial,
			fingerprint: minted.fingerprint,
			certificateIssued: minted.issued,
			certificateExpires: minted.expires,
			certificate,
			pairedAt: now,
		};
		return {name: minted.name, home: paths.home, port, record};
	});

	await openControllerRegistry(paths).update(registry => agents.reduce<Registry>((next, agent) => addAgent(next, agent.record), registry));
	return {controllerHome, credentials: loadControllerCredentials(paths), agents, minted: cached.minted};
}

/**
 * A copy of the controller home whose registry holds only the first `count` agents (for `--on
 * all`); with `portOf`, each agent's address is that port on 127.0.0.1 (a delaying proxy in front of it).
 */
export async function controllerHomeWith(fleet: BenchFleet, root: string, count: number, portOf?: (index: number) => number): Promise<string> {
	const home = join(root, `controller-${count}${portOf ? '-proxied' : ''}`);
	cpSync(fleet.controllerHome, home, {recursive: true});
	const kept = new Map(fleet.agents.slice(0, count).map((agent, index) => [agent.name, index]));
	const address = (name: string, address: string) => (portOf ? `127.0.0.1:${portOf(kept.get(name)!)}` : address);
	await openControllerRegistry(controllerPaths(home)).update(registry => ({
		...registry,
		agents: registry.agents.filter(agent => kept.has(agent.name)).map(agent => ({...agent, address: address(agent.name, agent.address)})),
	}));
	return home;
}

export {loadIssuer, type Issuer} from './issuer.js';

/** One agent home: config, allowlist (uptime), key 0600, certificate, CA, pins. */
export async function mintAgent(issuer: Issuer, directory: string, name: string, port: number): Promise<BenchAgent> {
	const home = join(directory, name);
	mkdirSync(directory, {recursive: true});
	const paths = agentPaths(home);
	const address = `${agentHost}:${port}`;
	initAgent(paths, {name, listen: address, tags: ['bench=yes']});
	const config = readAgentConfig(paths);
	writeAgentConfig(paths, {...config, limits: {...config.limits, handshakeTimeoutMs: benchHandshakeTimeoutMs}});
	const keys = await generateKeyPair();
	const now = new Date();
	const certificate = await issueCertificate({ca: issuer.ca, publicKey: keys.publicKey, identity: {role: 'agent', name}, now});
	writeFileSync(paths.key, await privateKeyToPem(keys.privateKey), {mode: 0o600});
	writeFileSync(paths.cert, certificate.toString('pem'));
	writeFileSync(paths.ca, issuer.ca.certificate.toString('pem'));
	writePins(paths, {caSha256: publicKeySha256(issuer.ca.certificate), controllerSerials: [issuer.controllerSerial]});
	allowScript(paths, script.name, script.path, {description: 'Load and uptime'});
	const record: AgentRecord = {
		name,
		address,
		tags: {bench: 'yes'},
		serial: normaliseSerial(certificate.serialNumber),
		fingerprint: certificateSha256(certificate),
		certificateExpires: certificate.notAfter.toISOString(),
		pairedAt: now.toISOString(),
	};
	return {name, home, port, record};
}
