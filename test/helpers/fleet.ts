/**
 * A real fleet for integration tests: a controller home made by `initControllerHome`, agent homes
 * made by `initAgent`, and agent certificates minted with our own pki module (the way pairing will
 * issue them; there is deliberately no CLI shortcut that bypasses pairing), agents started as real
 * `xi-exec-agent start` processes on 127.0.0.1.
 */
import {spawn, type ChildProcess} from 'node:child_process';
import {mkdtempSync, writeFileSync, chmodSync, mkdirSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {createInterface} from 'node:readline';
import {controllerPaths, initControllerHome, loadCertificateAuthority, openControllerRegistry} from '../../source/home.js';
import {addAgent} from '../../source/registry/model.js';
import {certificateSha256, generateKeyPair, issueCertificate, normaliseSerial, privateKeyToPem, publicKeySha256, x509} from '../../source/pki/index.js';
import {readTextFile} from '../../source/io/files.js';
import {agentPaths, writePins} from '../../agent/home.js';
import {allowScript, initAgent} from '../../agent/commands.js';

export const repoRoot = new URL('../..', import.meta.url).pathname;
export const agentCli = join(repoRoot, 'dist/agent/cli.js');
export const controllerCli = join(repoRoot, 'dist/source/cli.js');
export const fixtures = join(repoRoot, 'test/fixtures');

export function temporaryDirectory(prefix = 'xi-exec-test-'): string {
	return mkdtempSync(join(tmpdir(), prefix));
}

export async function createController(): Promise<string> {
	const home = join(temporaryDirectory(), 'controller');
	await initControllerHome(home, new Date());
	return home;
}

/** Copies a fixture script into a private 0700 directory with mode 0755, so it passes the allowlist checks. */
export function installScript(name: string, body: string): string {
	const directory = temporaryDirectory('xi-exec-scripts-');
	mkdirSync(directory, {recursive: true});
	const path = join(directory, name);
	writeFileSync(path, body);
	chmodSync(path, 0o755);
	return path;
}

export type TestAgent = {name: string; home: string; port: number};

export async function enrolAgent(controllerHome: string, options: {name: string; port: number; tags?: string[]; scripts?: Record<string, string>; notAfter?: Date}): Promise<TestAgent> {
	const home = join(temporaryDirectory(), options.name);
	const paths = agentPaths(home);
	initAgent(paths, {name: options.name, listen: `127.0.0.1:${options.port}`, tags: options.tags ?? []});
	const cpaths = controllerPaths(controllerHome);
	const ca = await loadCertificateAuthority(cpaths);
	const keys = await generateKeyPair();
	const certificate = await issueCertificate({ca, publicKey: keys.publicKey, identity: {role: 'agent', name: options.name}, now: new Date(), ...(options.notAfter ? {notAfter: options.notAfter} : {})});
	writeFileSync(paths.key, await privateKeyToPem(keys.privateKey), {mode: 0o600});
	writeFileSync(paths.cert, certificate.toString('pem'));
	writeFileSync(paths.ca, ca.certificate.toString('pem'));
	const controllerCertificate = new x509.X509Certificate(readTextFile(cpaths.controllerCert, 'controller cert'));
	writePins(paths, {caSha256: publicKeySha256(ca.certificate), controllerSerials: [normaliseSerial(controllerCertificate.serialNumber)]});
	for (const [script, path] of Object.entries(options.scripts ?? {})) {
		allowScript(paths, script, path, {description: `test script ${script}`});
	}

	const tags = Object.fromEntries((options.tags ?? []).map(tag => tag.split('=') as [string, string]));
	await openControllerRegistry(cpaths).update(registry => addAgent(registry, {
		name: options.name,
		address: `127.0.0.1:${options.port}`,
		tags,
		serial: normaliseSerial(certificate.serialNumber),
		fingerprint: certificateSha256(certificate),
		certificateExpires: certificate.notAfter.toISOString(),
		pairedAt: new Date().toISOString(),
	}));
	return {name: options.name, home, port: options.port};
}

export type RunningAgent = {process: ChildProcess; lines: string[]; stop: () => Promise<void>};

/** Starts `xi-exec-agent start` and resolves once it logs that it is listening. */
export async function startAgent(agent: TestAgent, options: {nodeArgs?: string[]; env?: NodeJS.ProcessEnv} = {}): Promise<RunningAgent> {
	const child = spawn(process.execPath, [...(options.nodeArgs ?? []), agentCli, 'start'], {
		env: {...process.env, ...options.env, XI_EXEC_AGENT_HOME: agent.home},
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	const lines: string[] = [];
	let stderr = '';
	child.stderr!.on('data', (chunk: Buffer) => {
		stderr += chunk.toString();
	});
	await new Promise<void>((resolve, reject) => {
		createInterface({input: child.stdout!}).on('line', line => {
			lines.push(line);
			if (line.includes('"event":"listening"')) {
				resolve();
			}
		});
		child.once('exit', code => {
			reject(new Error(`agent ${agent.name} exited with ${code}: ${stderr}`));
		});
	});
	return {
		process: child,
		lines,
		async stop() {
			if (child.exitCode !== null || child.signalCode !== null) {
				return;
			}

			const exited = new Promise(resolve => child.once('exit', resolve));
			child.kill('SIGTERM');
			await exited;
		},
	};
}

let nextPort = 20_000 + ((process.pid * 37) % 20_000);
/** A port for an agent to listen on; spread by pid so parallel test files rarely collide. */
export function freePort(): number {
	nextPort += 1;
	return nextPort;
}

export type CliResult = {code: number | null; stdout: string; stderr: string};

export function runCli(cli: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
	return new Promise(resolve => {
		const child = spawn(process.execPath, [cli, ...args], {env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'pipe']});
		let stdout = '';
		let stderr = '';
		child.stdout.on('data', (chunk: Buffer) => {
			stdout += chunk.toString();
		});
		child.stderr.on('data', (chunk: Buffer) => {
			stderr += chunk.toString();
		});
		child.on('close', code => {
			resolve({code, stdout, stderr});
		});
	});
}
