/**
 * Peers for pairing tests, over real TLS sockets on 127.0.0.1: the real listener with its events
 * collected, a raw agent that speaks the pairing frames by hand (so an attack is a few lines), a
 * relay that terminates TLS on both sides, and a fake controller with a CA of its own.
 */
import {spawn, type ChildProcess} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {existsSync} from 'node:fs';
import {join} from 'node:path';
import {connect, createServer, type SecureVersion, type Server, type TLSSocket} from 'node:tls';
import type {AddressInfo} from 'node:net';
import {createInterface} from 'node:readline';
import {parseHostPort, type HostPort} from '../../source/io/address.js';
import {controllerPaths, loadCertificateAuthority, loadServerCredentials, openControllerRegistry, readControllerCertificate} from '../../source/home.js';
import {commitment, deriveCode, exporterLabel, nonceBytes, sha256Hex, transcriptHash} from '../../source/pairing/code.js';
import {openPairingListener, type PairingEvent, type PairingListener, type PairingListenerOptions} from '../../source/pairing/listener.js';
import {decodeAgentMessage, decodeControllerMessage, encodePairing, type AgentMessage, type ControllerMessage} from '../../source/pairing/messages.js';
import {
	certificateFromDer,
	certificateSha256,
	createCertificateAuthority,
	createCsr,
	generateKeyPair,
	issueCertificate,
	privateKeyToPem,
	publicKeySha256,
	x509,
	type CertificateAuthority,
	type Identity,
} from '../../source/pki/index.js';
import {LineSplitter} from '../../source/protocol/line-splitter.js';
import {agentPaths} from '../../agent/home.js';
import {initAgent} from '../../agent/commands.js';
import {pairCommand} from '../../agent/pair-command.js';
import {temporaryDirectory} from './fleet.js';

export type Hello = Extract<ControllerMessage, {type: 'hello'}>;
export type Commit = Extract<AgentMessage, {type: 'commit'}>;

/** Hands out values in arrival order; `next()` waits for the next one, `find()` for one that matches. */
export class Inbox<T> {
	readonly all: T[] = [];
	#read = 0;
	#waiters: Array<() => void> = [];

	push(value: T): void {
		this.all.push(value);
		for (const wake of this.#waiters.splice(0)) {
			wake();
		}
	}

	async next(): Promise<T> {
		while (this.#read >= this.all.length) {
			await new Promise<void>(resolve => this.#waiters.push(resolve));
		}

		return this.all[this.#read++]!;
	}

	async find<S extends T>(match: (value: T) => value is S): Promise<S>;
	async find(match: (value: T) => boolean): Promise<T>;
	async find(match: (value: T) => boolean): Promise<T> {
		for (let index = 0; ; index++) {
			while (index >= this.all.length) {
				await new Promise<void>(resolve => this.#waiters.push(resolve));
			}

			if (match(this.all[index]!)) {
				return this.all[index]!;
			}
		}
	}
}

// ---------------------------------------------------------------------------------------------
// The real listener

export type TestListener = {
	listener: PairingListener;
	address: string;
	hostPort: HostPort;
	events: Inbox<PairingEvent>;
	/** The first `refused` event (past or future) that names this agent, or the one with no agent when null. */
	refused: (agent: string | null) => Promise<Extract<PairingEvent, {event: 'refused'}>>;
	request: (agent: string) => Promise<Extract<PairingEvent, {event: 'request'}>>;
	paired: (agent: string) => Promise<Extract<PairingEvent, {event: 'paired'}>>;
	caSha256: string;
};

export async function openTestListener(controllerHome: string, overrides: Partial<PairingListenerOptions> = {}): Promise<TestListener> {
	const paths = controllerPaths(controllerHome);
	const events = new Inbox<PairingEvent>();
	const ca = await loadCertificateAuthority(paths);
	const listener = await openPairingListener({
		listen: {host: '127.0.0.1', port: 0},
		server: loadServerCredentials(paths),
		ca,
		controllerCertificate: readControllerCertificate(paths),
		controllerName: 'test-controller',
		registry: openControllerRegistry(paths),
		replace: false,
		timeoutMs: 60_000,
		now: () => new Date(),
		...overrides,
		onEvent(event) {
			events.push(event);
			overrides.onEvent?.(event);
		},
	});
	return {
		listener,
		address: listener.address,
		hostPort: parseHostPort(listener.address) as HostPort,
		events,
		refused: async agent => events.find((event): event is Extract<PairingEvent, {event: 'refused'}> => event.event === 'refused' && event.agent === agent),
		request: async agent => events.find((event): event is Extract<PairingEvent, {event: 'request'}> => event.event === 'request' && event.agent === agent),
		paired: async agent => events.find((event): event is Extract<PairingEvent, {event: 'paired'}> => event.event === 'paired' && event.agent === agent),
		caSha256: publicKeySha256(ca.certificate),
	};
}

// ---------------------------------------------------------------------------------------------
// A raw agent

export type Received = ControllerMessage | {type: 'bad'; reason: string} | {type: 'closed'};

export type PairingClient = {
	socket: TLSSocket;
	/** Every frame from the controller, decoded, then `closed` once the connection ends. */
	inbox: Inbox<Received>;
	send: (message: AgentMessage | string) => void;
	keyingMaterial: () => Buffer;
	serverCertificate: () => x509.X509Certificate;
	closed: Promise<void>;
};

export type ClientOptions = {localAddress?: string; minVersion?: SecureVersion; maxVersion?: SecureVersion};

/** A TLS client for the pairing listener that sends whatever it is told to. */
export function connectPairingClient(address: string | HostPort, options: ClientOptions = {}): Promise<PairingClient> {
	const target = typeof address === 'string' ? parseHostPort(address) as HostPort : address;
	return new Promise((resolve, reject) => {
		const inbox = new Inbox<Received>();
		const socket = connect({
			host: target.host,
			port: target.port,
			rejectUnauthorized: false,
			minVersion: options.minVersion ?? 'TLSv1.3',
			maxVersion: options.maxVersion ?? 'TLSv1.3',
			...(options.localAddress ? {localAddress: options.localAddress} : {}),
		});
		const splitter = new LineSplitter(1024 * 1024);
		socket.on('data', (chunk: Buffer) => {
			for (const line of splitter.push(chunk).lines) {
				const decoded = decodeControllerMessage(line);
				inbox.push(decoded.ok ? decoded.message : {type: 'bad', reason: decoded.reason});
			}
		});
		const closed = new Promise<void>(resolveClosed => {
			socket.on('close', () => {
				inbox.push({type: 'closed'});
				resolveClosed();
			});
		});
		socket.on('error', reject);
		socket.once('secureConnect', () => {
			socket.off('error', reject);
			socket.on('error', () => undefined);
			resolve({
				socket,
				inbox,
				send(message) {
					socket.write(typeof message === 'string' ? message : encodePairing(message));
				},
				keyingMaterial: () => socket.exportKeyingMaterial(32, exporterLabel, Buffer.alloc(0)),
				serverCertificate: () => certificateFromDer(socket.getPeerCertificate().raw),
				closed,
			});
		});
	});
}

/** The next frame, which must be of this type (anything else fails the test with what came instead). */
export async function expectFrame<T extends Received['type']>(client: PairingClient, type: T): Promise<Extract<Received, {type: T}>> {
	const received = await client.inbox.next();
	if (received.type !== type) {
		throw new Error(`expected a ${type} frame, got ${JSON.stringify(received)}`);
	}

	return received as Extract<Received, {type: T}>;
}

export type AgentIdentity = {
	name: string;
	address: string;
	tags: Record<string, string>;
	keys: CryptoKeyPair;
	csr: x509.Pkcs10CertificateRequest;
	csrPem: string;
};

/** A new agent key pair and a CSR; `csrIdentity` makes the CSR ask for someone else. */
export async function makeAgentIdentity(name: string, options: {csrIdentity?: Identity; address?: string; tags?: Record<string, string>} = {}): Promise<AgentIdentity> {
	const keys = await generateKeyPair();
	const csr = await createCsr(keys, options.csrIdentity ?? {role: 'agent', name});
	return {name, address: options.address ?? '10.0.0.5:7441', tags: options.tags ?? {site: 'london'}, keys, csr, csrPem: csr.toString('pem')};
}

/** The transcript hash as an agent computes it from a hello and the certificate its TLS peer showed. */
export function agentTranscript(hello: Hello, serverCertificate: x509.X509Certificate, agent: Pick<AgentIdentity, 'name' | 'address' | 'tags' | 'csr'>): Buffer {
	const ca = new x509.X509Certificate(hello.ca);
	return transcriptHash({
		ceremony: hello.ceremony,
		caCertificateSha256: certificateSha256(ca),
		caPublicKeySha256: publicKeySha256(ca),
		controllerCertificateSha256: certificateSha256(new x509.X509Certificate(hello.controller)),
		serverCertificateSha256: certificateSha256(serverCertificate),
		controllerName: hello.controllerName,
		agentName: agent.name,
		agentAddress: agent.address,
		agentTags: agent.tags,
		agentPublicKeySha256: sha256Hex(new Uint8Array(agent.csr.publicKey.rawData)),
		csrSha256: sha256Hex(new Uint8Array(agent.csr.rawData)),
		expires: hello.expires,
	});
}

export type CommitSent = {hello: Hello; transcript: Buffer; agentNonce: Buffer; commit: Commit};

/** An honest commit for `agent` in answer to `hello`, not yet sent. */
export function prepareCommit(client: PairingClient, hello: Hello, agent: AgentIdentity): CommitSent {
	const transcript = agentTranscript(hello, client.serverCertificate(), agent);
	const agentNonce = randomBytes(nonceBytes);
	const commit: Commit = {type: 'commit', name: agent.name, address: agent.address, tags: agent.tags, csr: agent.csrPem, commitment: commitment(transcript, agentNonce)};
	return {hello, transcript, agentNonce, commit};
}

/** Reads the hello and sends an honest commit for `agent`. */
export async function sendCommit(client: PairingClient, agent: AgentIdentity): Promise<CommitSent> {
	const sent = prepareCommit(client, await expectFrame(client, 'hello'), agent);
	client.send(sent.commit);
	return sent;
}

export type Pending = CommitSent & {controllerNonce: Buffer; code: string};

/** An honest ceremony up to the controller's `pending`: the code is the one the agent would show. */
export async function ceremonyToPending(client: PairingClient, agent: AgentIdentity): Promise<Pending> {
	const sent = await sendCommit(client, agent);
	const nonce = await expectFrame(client, 'nonce');
	client.send({type: 'reveal', nonce: sent.agentNonce.toString('hex')});
	await expectFrame(client, 'pending');
	const controllerNonce = Buffer.from(nonce.nonce, 'hex');
	return {...sent, controllerNonce, code: deriveCode(client.keyingMaterial(), controllerNonce, sent.agentNonce, sent.transcript)};
}

/** Waits for the frame that ends the ceremony on the client's side: a refusal (its reason) or the close. */
export async function refusalSeen(client: PairingClient): Promise<string> {
	for (;;) {
		const received = await client.inbox.next();
		if (received.type === 'refused') {
			return received.reason;
		}

		if (received.type === 'closed') {
			return 'closed without a refusal';
		}
	}
}

// ---------------------------------------------------------------------------------------------
// Certificates outside the fleet

export type ForeignFleet = {ca: CertificateAuthority; caPem: string; caSha256: string; controllerPem: string; server: {key: string; cert: string}};

/** A CA of its own, with a controller certificate and a server certificate, as a fake controller holds. */
export async function makeForeignFleet(now = new Date()): Promise<ForeignFleet> {
	const caKeys = await generateKeyPair();
	const certificate = await createCertificateAuthority({keys: caKeys, now, name: 'not the fleet CA'});
	const ca = {certificate, privateKey: caKeys.privateKey};
	const controllerKeys = await generateKeyPair();
	const controller = await issueCertificate({ca, publicKey: controllerKeys.publicKey, identity: {role: 'controller'}, now});
	return {ca, caPem: certificate.toString('pem'), caSha256: publicKeySha256(certificate), controllerPem: controller.toString('pem'), server: await mintServerCredentials(ca, {role: 'server'}, now)};
}

/** A fresh key and a certificate for it, signed by `ca`. */
export async function mintServerCredentials(ca: CertificateAuthority, identity: Identity, now = new Date()): Promise<{key: string; cert: string}> {
	const keys = await generateKeyPair();
	const certificate = await issueCertificate({ca, publicKey: keys.publicKey, identity, now, ipAddresses: ['127.0.0.1']});
	return {key: await privateKeyToPem(keys.privateKey), cert: certificate.toString('pem')};
}

// ---------------------------------------------------------------------------------------------
// Servers an agent can be pointed at

export type TestServer = {address: HostPort; close: () => Promise<void>};

function listen(server: Server): Promise<HostPort> {
	return new Promise((resolve, reject) => {
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			resolve({host: '127.0.0.1', port: (server.address() as AddressInfo).port});
		});
	});
}

function closer(server: Server, sockets: Set<TLSSocket>): () => Promise<void> {
	return async () => {
		for (const socket of sockets) {
			socket.destroy();
		}

		await new Promise<void>(resolve => {
			server.close(() => {
				resolve();
			});
		});
	};
}

export type RelayMode =
	/** Forward every line unchanged. */
	| 'forward'
	/** Also replace the agent's commitment with one the relay can open for the controller's transcript, and its reveal with that nonce. */
	| 'recommit';

/**
 * A man in the middle that terminates TLS on both sides: agents connect to it with `credentials`,
 * and it connects to the real listener as a client, forwarding the pairing frames between them.
 */
export async function startRelay(target: string, credentials: {key: string; cert: string}, mode: RelayMode): Promise<TestServer> {
	const sockets = new Set<TLSSocket>();
	const server = createServer({key: credentials.key, cert: credentials.cert, minVersion: 'TLSv1.3'}, agentSide => {
		sockets.add(agentSide);
		agentSide.on('error', () => undefined);
		void connectPairingClient(target).then(controllerSide => {
			sockets.add(controllerSide.socket);
			let hello: Hello | undefined;
			const relayNonce = randomBytes(nonceBytes);
			void (async () => {
				for (;;) {
					const received = await controllerSide.inbox.next();
					if (received.type === 'closed' || received.type === 'bad') {
						agentSide.end();
						return;
					}

					hello ??= received.type === 'hello' ? received : undefined;
					agentSide.write(encodePairing(received));
				}
			})();
			agentSide.on('close', () => controllerSide.socket.end());
			const splitter = new LineSplitter(1024 * 1024);
			agentSide.on('data', (chunk: Buffer) => {
				for (const line of splitter.push(chunk).lines) {
					controllerSide.send(mode === 'forward' ? `${line}\n` : recommit(line));
				}
			});

			// The controller checks the commitment against its own transcript (its own server
			// certificate, which the relay sees on its client side), so the relay commits to a nonce of
			// its own for that transcript and reveals it in place of the agent's.
			function recommit(line: string): string {
				const decoded = decodeAgentMessage(line);
				if (decoded.ok && decoded.message.type === 'commit' && hello) {
					const {message} = decoded;
					const csr = new x509.Pkcs10CertificateRequest(message.csr);
					const transcript = agentTranscript(hello, controllerSide.serverCertificate(), {name: message.name, address: message.address, tags: message.tags, csr});
					return encodePairing({...message, commitment: commitment(transcript, relayNonce)});
				}

				if (decoded.ok && decoded.message.type === 'reveal') {
					return encodePairing({type: 'reveal', nonce: relayNonce.toString('hex')});
				}

				return `${line}\n`;
			}
		}, () => agentSide.destroy());
	});
	return {address: await listen(server), close: closer(server, sockets)};
}

export type FakeControllerOptions = {
	fleet: ForeignFleet;
	/** Changes to the honest hello. */
	hello?: Partial<Hello>;
	/** What to send instead of the nonce after the commit (an out-of-order frame, say). */
	afterCommit?: ControllerMessage;
	/** The certificate sent with `approved`; by default one the fleet's CA issues for the CSR's key and name. */
	issue?: (csr: x509.Pkcs10CertificateRequest, name: string) => Promise<string>;
	maxVersion?: SecureVersion;
};

export type FakeController = TestServer & {received: Inbox<AgentMessage | {type: 'closed'}>};

/**
 * A controller that completes the ceremony honestly with a CA of its own and says "approved":
 * what an attacker who got the agent to dial it would run.
 */
export async function startFakeController(options: FakeControllerOptions): Promise<FakeController> {
	const sockets = new Set<TLSSocket>();
	const received = new Inbox<AgentMessage | {type: 'closed'}>();
	const {fleet} = options;
	const server = createServer({key: fleet.server.key, cert: fleet.server.cert, minVersion: options.maxVersion ? 'TLSv1.2' : 'TLSv1.3', maxVersion: options.maxVersion ?? 'TLSv1.3'}, socket => {
		sockets.add(socket);
		socket.on('error', () => undefined);
		const send = (message: ControllerMessage) => socket.write(encodePairing(message));
		send({type: 'hello', ceremony: 'fake-ceremony', ca: fleet.caPem, controller: fleet.controllerPem, controllerName: 'fake', expires: new Date(Date.now() + 60_000).toISOString(), ...options.hello});
		let commit: Commit | undefined;
		const splitter = new LineSplitter(1024 * 1024);
		socket.on('close', () => received.push({type: 'closed'}));
		socket.on('data', (chunk: Buffer) => {
			for (const line of splitter.push(chunk).lines) {
				const decoded = decodeAgentMessage(line);
				if (!decoded.ok) {
					continue;
				}

				received.push(decoded.message);
				void answer(decoded.message);
			}
		});

		async function answer(message: AgentMessage): Promise<void> {
			if (message.type === 'commit') {
				commit = message;
				send(options.afterCommit ?? {type: 'nonce', nonce: randomBytes(nonceBytes).toString('hex')});
			} else if (message.type === 'reveal') {
				send({type: 'pending'});
				const csr = new x509.Pkcs10CertificateRequest(commit!.csr);
				const certificate = options.issue
					? await options.issue(csr, commit!.name)
					: (await issueCertificate({ca: fleet.ca, publicKey: csr.publicKey, identity: {role: 'agent', name: commit!.name}, now: new Date()})).toString('pem');
				send({type: 'approved', certificate});
			} else if (message.type === 'confirmed') {
				send({type: 'paired'});
				socket.end();
			}
		}
	});
	return {address: await listen(server), close: closer(server, sockets), received};
}

// ---------------------------------------------------------------------------------------------
// Agent homes

export type AgentHome = {name: string; home: string; port: number};

export function createAgentHome(name: string, port: number, tags: string[] = ['site=london']): AgentHome {
	const home = join(temporaryDirectory(), name);
	initAgent(agentPaths(home), {name, listen: `127.0.0.1:${port}`, tags});
	return {name, home, port};
}

/** What pairing would have written into the agent's home, and is there. */
export function storedCredentials(home: string): string[] {
	const paths = agentPaths(home);
	return [paths.key, paths.cert, paths.ca, paths.pins].filter(path => existsSync(path)).map(path => path.slice(home.length + 1));
}

export type AgentRun = {
	/** The JSON lines `xi-exec-agent pair --json` prints. */
	lines: Inbox<Record<string, unknown>>;
	/** The code the agent shows, once it has one. */
	code: () => Promise<string>;
	/** Its exit status. */
	done: Promise<number>;
	/** The reason in its `refused` line (after it ended). */
	refusal: () => Promise<string>;
};

/**
 * The agent's own `pair` command (agent/pair-command.ts) in this process, in JSON mode with no
 * terminal, writing into its real home: what `xi-exec-agent pair --json` runs, minus the process.
 */
export function pairAgent(agent: AgentHome, controller: string | HostPort, options: {caSha256?: string; timeoutSeconds?: number} = {}): AgentRun {
	const lines = new Inbox<Record<string, unknown>>();
	const done = pairCommand(agentPaths(agent.home), {
		controller: typeof controller === 'string' ? controller : `${controller.host}:${controller.port}`,
		...(options.caSha256 === undefined ? {} : {caSha256: options.caSha256}),
		json: true,
		timeoutSeconds: options.timeoutSeconds ?? 60,
	}, {
		interactive: false,
		stdout(text) {
			for (const line of text.split('\n').filter(Boolean)) {
				lines.push(JSON.parse(line) as Record<string, unknown>);
			}
		},
	});
	return {
		lines,
		done,
		code: async () => (await lines.find(line => line['event'] === 'code'))['code'] as string,
		async refusal() {
			await done;
			const refused = lines.all.find(line => line['event'] === 'refused');
			return refused ? refused['reason'] as string : `no refusal: ${JSON.stringify(lines.all)}`;
		},
	};
}

export type CliProcess = {
	child: ChildProcess;
	/** Its stdout, one JSON line each (a line that is not JSON arrives as {text}). */
	lines: Inbox<Record<string, unknown>>;
	/** The first line with this event (past or future). */
	event: (name: string) => Promise<Record<string, unknown>>;
	/** Writes a line on its stdin (only when started with stdin: 'pipe'). */
	write: (line: string) => void;
	exit: Promise<{code: number | null; signal: NodeJS.Signals | null; stderr: string}>;
};

/** A built CLI as a real process, its JSON lines read as they come. */
export function spawnJsonCli(cli: string, args: string[], env: NodeJS.ProcessEnv, stdin: 'pipe' | 'ignore' = 'ignore'): CliProcess {
	const child = spawn(process.execPath, [cli, ...args], {env: {...process.env, ...env}, stdio: [stdin, 'pipe', 'pipe']});
	const lines = new Inbox<Record<string, unknown>>();
	let stderr = '';
	child.stderr!.on('data', (chunk: Buffer) => {
		stderr += chunk.toString();
	});
	createInterface({input: child.stdout!}).on('line', line => {
		try {
			lines.push(JSON.parse(line) as Record<string, unknown>);
		} catch {
			lines.push({text: line});
		}
	});
	const exit = new Promise<{code: number | null; signal: NodeJS.Signals | null; stderr: string}>(resolve => {
		child.on('close', (code, signal) => {
			resolve({code, signal, stderr});
		});
	});
	return {
		child,
		lines,
		event: async name => lines.find(line => line['event'] === name),
		write(line) {
			child.stdin!.write(`${line}\n`);
		},
		exit,
	};
}
