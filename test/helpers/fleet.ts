/**
 * A real fleet for integration tests: a controller home made by `initControllerHome`, agent homes
 * made by `initAgent`, and agent certificates minted with our own pki module (the way pairing will
 * issue them; there is deliberately no CLI shortcut that bypasses pairing), agents started as real
 * `xi-exec-agent start` processes on 127.0.0.1.
 */
import {spawn, type ChildProcess, type ChildProcessWithoutNullStreams} from 'node:child_process';
import {randomUUID} from 'node:crypto';
import {mkdtempSync, writeFileSync, chmodSync, mkdirSync, readFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {createInterface} from 'node:readline';
import {setTimeout as delay} from 'node:timers/promises';
import {connect, type SecureVersion, type TLSSocket} from 'node:tls';
import {controllerPaths, initControllerHome, loadCertificateAuthority, loadControllerCredentials, openControllerRegistry, type TlsCredentials} from '../../source/home.js';
import {addAgent} from '../../source/registry/model.js';
import {certificateSha256, generateKeyPair, issueCertificate, normaliseSerial, privateKeyToPem, publicKeySha256, x509} from '../../source/pki/index.js';
import {readTextFile} from '../../source/io/files.js';
import {agentPaths, readAgentConfig, writeAgentConfig, writePins, type AgentLimits} from '../../agent/home.js';
import {allowScript, initAgent} from '../../agent/commands.js';

export const repoRoot = new URL('../..', import.meta.url).pathname;
export const agentCli = join(repoRoot, 'dist/agent/cli.js');
/** The installed `xi-exec` (package.json's bin): the CommonJS entry that opens a one-shot's TCP connection first (scripts/bundle.js). */
export const controllerCli = join(repoRoot, 'dist/source/cli.cjs');
/** The same program from its ES module entry. */
export const controllerModuleCli = join(repoRoot, 'dist/source/cli.js');
export const fixtures = join(repoRoot, 'test/fixtures');

export function temporaryDirectory(prefix = 'xi-exec-test-'): string {
	return mkdtempSync(join(tmpdir(), prefix));
}

export async function createController(): Promise<string> {
	const home = join(temporaryDirectory(), 'controller');
	await initControllerHome(home, new Date());
	return home;
}

/** Copies test/fixtures/NAME with installScript(). */
export function installFixture(fixture: string): string {
	return installScript(fixture, readFileSync(join(fixtures, fixture), 'utf8'));
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

export type TestAgent = {name: string; home: string; port: number; controllerHome?: string};

export async function enrolAgent(controllerHome: string, options: {name: string; port: number; tags?: string[]; scripts?: Record<string, string>; notAfter?: Date; issuedAt?: Date}): Promise<TestAgent> {
	const home = join(temporaryDirectory(), options.name);
	const paths = agentPaths(home);
	initAgent(paths, {name: options.name, listen: `127.0.0.1:${options.port}`, tags: options.tags ?? []});
	const cpaths = controllerPaths(controllerHome);
	const ca = await loadCertificateAuthority(cpaths);
	const keys = await generateKeyPair();
	const certificate = await issueCertificate({ca, publicKey: keys.publicKey, identity: {role: 'agent', name: options.name}, now: options.issuedAt ?? new Date(), ...(options.notAfter ? {notAfter: options.notAfter} : {})});
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
		certificateIssued: certificate.notBefore.toISOString(),
		certificateExpires: certificate.notAfter.toISOString(),
		certificate: certificate.toString('pem'),
		pairedAt: new Date().toISOString(),
	}));
	return {name: options.name, home, port: options.port, controllerHome};
}

export type RunningAgent = {process: ChildProcess; lines: string[]; stop: () => Promise<void>};

/**
 * Starts `xi-exec-agent start` and resolves once it logs that it is listening. An agent enrolled
 * by enrolAgent whose port another process took in the meantime (test files run in parallel) is
 * moved to a fresh port, in its config and in the controller's registry, and started again.
 */
export async function startAgent(agent: TestAgent, options: {nodeArgs?: string[]; env?: NodeJS.ProcessEnv} = {}): Promise<RunningAgent> {
	for (let attempt = 1; ; attempt++) {
		try {
			return await startAgentOnce(agent, options);
		} catch (error) {
			if (!agent.controllerHome || attempt >= 5 || !(error as Error).message.includes('EADDRINUSE')) {
				throw error;
			}

			await movePort(agent, agent.controllerHome, freePort());
		}
	}
}

async function movePort(agent: TestAgent, controllerHome: string, port: number): Promise<void> {
	const paths = agentPaths(agent.home);
	writeAgentConfig(paths, {...readAgentConfig(paths), listen: `127.0.0.1:${port}`});
	await openControllerRegistry(controllerPaths(controllerHome)).update(registry => ({
		...registry,
		agents: registry.agents.map(record => (record.name === agent.name ? {...record, address: `127.0.0.1:${port}`} : record)),
	}));
	agent.port = port;
}

async function startAgentOnce(agent: TestAgent, options: {nodeArgs?: string[]; env?: NodeJS.ProcessEnv}): Promise<RunningAgent> {
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

let nextPort = 10_000 + ((process.pid * 37) % 20_000);
/**
 * A port for an agent to listen on: spread by pid so parallel test files rarely collide, below
 * the kernel's ephemeral range, and skipping any port that /proc/net/tcp shows in use.
 */
export function freePort(): number {
	const used = portsInUse();
	do {
		nextPort = nextPort >= 31_999 ? 10_000 : nextPort + 1;
	} while (used.has(nextPort));

	return nextPort;
}

function portsInUse(): Set<number> {
	const ports = new Set<number>();
	for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
		let text: string;
		try {
			text = readFileSync(table, 'utf8');
		} catch {
			continue;
		}

		for (const line of text.split('\n').slice(1)) {
			const local = line.trim().split(/\s+/)[1];
			const port = local?.split(':')[1];
			if (port) {
				ports.add(Number.parseInt(port, 16));
			}
		}
	}

	return ports;
}

export type CliResult = {code: number | null; stdout: string; stderr: string};

/**
 * Starts a TypeScript fixture (test/fixtures/NAME) through tsx with its stdin open, for tests
 * that hold several processes at a line ("ready") and release them together (stdin "go").
 */
export function startFixture(name: string, args: string[]): {child: ChildProcessWithoutNullStreams; exited: Promise<number | null>; stdout: () => string; stderr: () => string} {
	const child = spawn(process.execPath, ['--import', 'tsx', join(fixtures, name), ...args], {cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe']});
	const output = collectOutput(child);
	const exited = new Promise<number | null>(resolve => {
		child.on('close', resolve);
	});
	return {child, exited, stdout: () => output().stdout, stderr: () => output().stderr};
}

/** What a child has written so far to stdout and stderr. */
function collectOutput(child: {stdout: NodeJS.ReadableStream | null; stderr: NodeJS.ReadableStream | null}): () => {stdout: string; stderr: string} {
	let stdout = '';
	let stderr = '';
	child.stdout?.on('data', (chunk: Buffer) => {
		stdout += chunk.toString();
	});
	child.stderr?.on('data', (chunk: Buffer) => {
		stderr += chunk.toString();
	});
	return () => ({stdout, stderr});
}

export function runCli(cli: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
	return spawnCli(cli, args, env).done;
}

/** Starts a CLI and hands back the child, its output so far (to act while it runs), and its end. */
export function spawnCli(cli: string, args: string[], env: NodeJS.ProcessEnv = {}, nodeArgs: string[] = []): {child: ChildProcess; output: () => CliResult; done: Promise<CliResult>} {
	const child = spawn(process.execPath, [...nodeArgs, cli, ...args], {env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'pipe']});
	const output = collectOutput(child);
	const done = new Promise<CliResult>(resolve => {
		child.on('close', code => {
			resolve({code, ...output()});
		});
	});
	return {child, output: () => ({code: child.exitCode, ...output()}), done};
}

/** The controller's own TLS key, certificate and the fleet CA, as PEM. */
export function controllerCredentials(controllerHome: string): TlsCredentials {
	return loadControllerCredentials(controllerPaths(controllerHome));
}

/** One request frame as a line, with a fresh request id, message id and timestamp unless given. */
export function requestLine(fields: Record<string, unknown>): string {
	return JSON.stringify({v: 1, id: randomUUID(), msg: randomUUID(), ts: Date.now(), ...fields}) + '\n';
}

export type RawOptions = {
	/** The CA the client trusts for the agent's certificate. */
	ca: string;
	key?: string;
	cert?: string;
	session?: Buffer;
	minVersion?: SecureVersion;
	maxVersion?: SecureVersion;
	/** Lines written as soon as the connection is secure. */
	send?: Array<string | Buffer>;
	/** Or full control of the socket once it is secure. */
	onSecure?: (socket: TLSSocket) => void;
	/** A safety net only: a connection still open after this is destroyed and reported. */
	giveUpMs?: number;
};

export type RawReply = {
	/** The client finished its side of the handshake (in TLS 1.3 before the server checks the client's certificate). */
	secured: boolean;
	protocol: string | null;
	reused: boolean;
	errorCode?: string;
	frames: Array<Record<string, unknown>>;
	/** Session tickets the server handed out. */
	sessions: Buffer[];
	gaveUp: boolean;
};

/**
 * A raw TLS client for the agent's port: no dispatcher in between, so a test can offer any
 * certificate, TLS version, session or bytes. The agent's own certificate is still verified
 * against `ca` (its identity is a SAN URI, not a host name, so only the chain is checked here).
 */
export function rawExchange(port: number, options: RawOptions): Promise<RawReply> {
	return new Promise(resolve => {
		const reply: RawReply = {secured: false, protocol: null, reused: false, frames: [], sessions: [], gaveUp: false};
		let data = '';
		const socket = connect({
			host: '127.0.0.1',
			port,
			ca: [options.ca],
			...(options.key ? {key: options.key} : {}),
			...(options.cert ? {cert: options.cert} : {}),
			...(options.session ? {session: options.session} : {}),
			minVersion: options.minVersion ?? 'TLSv1.2',
			maxVersion: options.maxVersion ?? 'TLSv1.3',
			rejectUnauthorized: true,
			checkServerIdentity: () => undefined,
		});
		const giveUp = setTimeout(() => {
			reply.gaveUp = true;
			socket.destroy();
		}, options.giveUpMs ?? 60_000);
		socket.on('secureConnect', () => {
			reply.secured = true;
			reply.protocol = socket.getProtocol();
			reply.reused = socket.isSessionReused();
			for (const line of options.send ?? []) {
				socket.write(line);
			}

			options.onSecure?.(socket);
		});
		socket.on('session', (session: Buffer) => {
			reply.sessions.push(session);
		});
		socket.on('data', (chunk: Buffer) => {
			data += chunk.toString();
		});
		socket.on('error', (error: NodeJS.ErrnoException) => {
			reply.errorCode ??= error.code ?? error.message;
		});
		socket.on('close', () => {
			clearTimeout(giveUp);
			reply.frames = data.split('\n').filter(line => line.length > 0).map(line => JSON.parse(line) as Record<string, unknown>);
			resolve(reply);
		});
	});
}

/** Polls until `probe` returns a value; a safety net against hangs, not a timed assertion. */
export async function waitFor<T>(probe: () => T | undefined, what: string, options: {giveUpMs?: number; state?: () => unknown} = {}): Promise<T> {
	const giveUpMs = options.giveUpMs ?? 60_000;
	const deadline = Date.now() + giveUpMs;
	for (;;) {
		const value = probe();
		if (value !== undefined) {
			return value;
		}

		if (Date.now() > deadline) {
			throw new Error(`gave up waiting for ${what}${options.state ? `; what there was: ${JSON.stringify(options.state())}` : ''}`);
		}

		await delay(20);
	}
}

export type LogEvent = Record<string, unknown> & {event: string};

/** The agent's JSON log lines with this event name, optionally only those after line `from`. */
export function logEvents(agent: RunningAgent, event: string, from = 0): LogEvent[] {
	return agent.lines.slice(from).map(line => JSON.parse(line) as LogEvent).filter(entry => entry.event === event);
}

/** Changes limits in an agent's config.json (before it starts). */
export function setAgentLimits(agent: TestAgent, limits: Partial<AgentLimits>): void {
	const paths = agentPaths(agent.home);
	const config = readAgentConfig(paths);
	writeAgentConfig(paths, {...config, limits: {...config.limits, ...limits}});
}
