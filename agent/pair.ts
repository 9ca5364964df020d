/**
 * The agent's side of the pairing ceremony (sequence in source/pairing/code.ts). The agent makes
 * its own key pair and CSR; the private key never leaves this host. It trusts nothing it was told
 * until the operator confirms locally, or until the CA matches the hash given with --ca-sha256:
 * a fake controller that completes a ceremony and says "approved" must not own the agent. The
 * caller writes the returned credentials only after the controller reported the agent paired.
 */
import {randomBytes} from 'node:crypto';
import {connect, type ConnectionOptions, type TLSSocket} from 'node:tls';
import {formatHostPort, type HostPort} from '../source/io/address.js';
import {commitment, deriveCode, exporterLabel, nonceBytes, sha256Hex, transcriptHash} from '../source/pairing/code.js';
import {decodeControllerMessage, encodePairing, pairingFrameBytes, type AgentMessage, type ControllerMessage} from '../source/pairing/messages.js';
import {createCsr} from '../source/pki/csr.js';
import {certificateSha256, normaliseSerial, publicKeySha256} from '../source/pki/fingerprints.js';
import {generateKeyPair, privateKeyToPem} from '../source/pki/keys.js';
import {checkCertificateAuthority, checkIssuedBy} from '../source/pki/verify.js';
import {certificateFromDer, x509} from '../source/pki/x509.js';
import {LineSplitter} from '../source/protocol/line-splitter.js';
import type {Pins} from './pins.js';

export type PairingCode = {code: string; caSha256: string; controllerName: string; ceremony: string};

export type AgentPairingOptions = {
	controller: HostPort;
	name: string;
	/** HOST:PORT, or `none` for an agent that opens no port (reached through the relay only). */
	address: string;
	/** The broker this agent's config names: the controller may reach it there. */
	relay?: string;
	tags: Record<string, string>;
	caSha256?: string;
	timeoutMs: number;
	now: () => Date;
	onCode: (code: PairingCode) => void;
	onStatus: (status: 'waiting' | 'approved') => void;
	/** Asked after the controller approved, when no --ca-sha256 was given: has the operator checked? */
	confirm: (code: PairingCode) => Promise<boolean>;
	/** Extra TLS options (tests force TLS 1.2 with this). */
	tls?: Partial<ConnectionOptions>;
};

export type PairingOutcome =
	/** `relay`: the broker the controller said it will reach this agent through (after the code matched). */
	| {ok: true; keyPem: string; certificatePem: string; caPem: string; pins: Pins; serial: string; relay?: string}
	| {ok: false; reason: string; pinned: false};

export async function pairWithController(options: AgentPairingOptions): Promise<PairingOutcome> {
	const keys = await generateKeyPair();
	const csr = await createCsr(keys, {role: 'agent', name: options.name});
	const socket = await new Promise<TLSSocket | string>(resolve => {
		const tls = connect({
			host: options.controller.host,
			port: options.controller.port,
			minVersion: 'TLSv1.3',
			// Nothing is trusted yet: the CA arrives in the hello and is checked by the code or --ca-sha256.
			rejectUnauthorized: false,
			...options.tls,
		});
		tls.once('secureConnect', () => resolve(tls));
		tls.once('error', (error: NodeJS.ErrnoException) => resolve(`cannot reach the pairing listener at ${formatHostPort(options.controller)} (${error.code ?? error.message})`));
	});
	if (typeof socket === 'string') {
		return {ok: false, reason: socket, pinned: false};
	}

	try {
		return await runCeremony(socket, keys, csr, options);
	} finally {
		socket.end();
		setTimeout(() => socket.destroy(), 500).unref();
	}
}

async function runCeremony(socket: TLSSocket, keys: CryptoKeyPair, csr: x509.Pkcs10CertificateRequest, options: AgentPairingOptions): Promise<PairingOutcome> {
	const inbox = messageQueue(socket, options.timeoutMs);
	const send = (message: AgentMessage) => socket.write(encodePairing(message));
	const fail = (reason: string, tell = true): PairingOutcome => {
		if (tell) {
			send({type: 'declined', reason});
		}

		return {ok: false, reason, pinned: false};
	};

	if (socket.getProtocol() !== 'TLSv1.3' || typeof socket.exportKeyingMaterial !== 'function') {
		return fail('the pairing listener did not negotiate TLS 1.3');
	}

	const hello = await inbox.next('hello');
	if (typeof hello === 'string') {
		return fail(hello, false);
	}

	const trusted = await checkHello(hello, socket, options);
	if (typeof trusted === 'string') {
		return fail(trusted);
	}

	const transcript = ceremonyTranscript(hello, trusted, csr, options);
	const agentNonce = randomBytes(nonceBytes);
	send({type: 'commit', name: options.name, address: options.address, tags: options.tags, csr: csr.toString('pem'), commitment: commitment(transcript, agentNonce), ...(options.relay === undefined ? {} : {relay: options.relay})});

	const nonce = await inbox.next('nonce');
	if (typeof nonce === 'string') {
		return fail(nonce, false);
	}

	send({type: 'reveal', nonce: agentNonce.toString('hex')});
	const keyingMaterial = socket.exportKeyingMaterial(32, exporterLabel, Buffer.alloc(0));
	const code: PairingCode = {code: deriveCode(keyingMaterial, Buffer.from(nonce.nonce, 'hex'), agentNonce, transcript), caSha256: trusted.caSha256, controllerName: hello.controllerName, ceremony: hello.ceremony};
	options.onCode(code);

	const pending = await inbox.next('pending');
	if (typeof pending === 'string') {
		return fail(pending, false);
	}

	options.onStatus('waiting');
	const approved = await inbox.next('approved');
	if (typeof approved === 'string') {
		return fail(approved, false);
	}

	const certificate = await checkIssued(approved.certificate, trusted.ca, csr, options);
	if (typeof certificate === 'string') {
		return fail(certificate);
	}

	options.onStatus('approved');
	if (options.caSha256 === undefined && !(await options.confirm(code))) {
		return fail('the operator did not confirm on the agent');
	}

	send({type: 'confirmed'});
	const paired = await inbox.next('paired');
	if (typeof paired === 'string') {
		return {ok: false, reason: paired, pinned: false};
	}

	return {
		ok: true,
		keyPem: await privateKeyToPem(keys.privateKey),
		certificatePem: certificate.toString('pem'),
		caPem: trusted.ca.toString('pem'),
		pins: {caSha256: trusted.caSha256, controllerSerials: [normaliseSerial(trusted.controller.serialNumber)]},
		serial: normaliseSerial(certificate.serialNumber),
		...(approved.relay === undefined ? {} : {relay: approved.relay}),
	};
}

/** The certificates the controller's hello presents, and the hash of its CA's public key. */
type HelloCertificates = {ca: x509.X509Certificate; controller: x509.X509Certificate; server: x509.X509Certificate; caSha256: string};

/**
 * The hello's CA, controller certificate and the TLS server's certificate, checked: the CA is the
 * one --ca-sha256 names (when given), and it issued the other two for their roles. A string says
 * why not.
 */
async function checkHello(hello: Expect<'hello'>, socket: TLSSocket, options: AgentPairingOptions): Promise<HelloCertificates | string> {
	const now = options.now();
	let certificates: Omit<HelloCertificates, 'caSha256'>;
	try {
		certificates = {
			ca: new x509.X509Certificate(hello.ca),
			controller: new x509.X509Certificate(hello.controller),
			server: certificateFromDer(socket.getPeerCertificate().raw),
		};
	} catch {
		return 'the hello carries certificates that cannot be parsed';
	}

	const {ca, controller, server} = certificates;
	const caSha256 = publicKeySha256(ca);
	if (options.caSha256 !== undefined && options.caSha256.toLowerCase().replaceAll(':', '') !== caSha256) {
		return `the controller's CA (sha256 ${caSha256}) is not the one given with --ca-sha256`;
	}

	const problem = await checkCertificateAuthority(ca, now)
		?? await checkIssuedBy(controller, ca, {role: 'controller'}, now)
		?? await checkIssuedBy(server, ca, {role: 'server'}, now);
	return problem ? `the controller's hello is inconsistent: ${problem}` : {...certificates, caSha256};
}

/** What both sides commit to: the ceremony, every certificate seen, and this agent's request as sent. */
function ceremonyTranscript(hello: Expect<'hello'>, trusted: HelloCertificates, csr: x509.Pkcs10CertificateRequest, options: AgentPairingOptions) {
	return transcriptHash({
		ceremony: hello.ceremony,
		caCertificateSha256: certificateSha256(trusted.ca),
		caPublicKeySha256: trusted.caSha256,
		controllerCertificateSha256: certificateSha256(trusted.controller),
		serverCertificateSha256: certificateSha256(trusted.server),
		controllerName: hello.controllerName,
		agentName: options.name,
		agentAddress: options.address,
		...(options.relay === undefined ? {} : {agentRelay: options.relay}),
		agentTags: options.tags,
		agentPublicKeySha256: sha256Hex(new Uint8Array(csr.publicKey.rawData)),
		csrSha256: sha256Hex(new Uint8Array(csr.rawData)),
		expires: hello.expires,
	});
}

/** The certificate the controller issued, checked: by our CA, for this agent's name and role, for this agent's key. */
async function checkIssued(pem: string, ca: x509.X509Certificate, csr: x509.Pkcs10CertificateRequest, options: AgentPairingOptions): Promise<x509.X509Certificate | string> {
	let certificate: x509.X509Certificate;
	try {
		certificate = new x509.X509Certificate(pem);
	} catch {
		return 'the issued certificate cannot be parsed';
	}

	const issued = await checkIssuedBy(certificate, ca, {role: 'agent', name: options.name}, options.now());
	if (issued) {
		return `the issued certificate is wrong: ${issued}`;
	}

	if (sha256Hex(new Uint8Array(certificate.publicKey.rawData)) !== sha256Hex(new Uint8Array(csr.publicKey.rawData))) {
		return 'the issued certificate is not for this agent\'s key';
	}

	return certificate;
}

type Expect<T extends ControllerMessage['type']> = Extract<ControllerMessage, {type: T}>;

/** The controller's messages in order; anything other than the expected one ends the ceremony. */
function messageQueue(socket: TLSSocket, timeoutMs: number) {
	const lines: string[] = [];
	let waiter: (() => void) | undefined;
	let closed = false;
	const splitter = new LineSplitter(pairingFrameBytes);
	socket.on('data', (chunk: Buffer) => {
		const {lines: received, overflow} = splitter.push(chunk);
		lines.push(...received);
		if (overflow) {
			closed = true;
		}

		waiter?.();
	});
	const onEnd = () => {
		closed = true;
		waiter?.();
	};

	socket.on('close', onEnd);
	socket.on('error', onEnd);

	return {
		async next<T extends ControllerMessage['type']>(type: T): Promise<Expect<T> | string> {
			const deadline = Date.now() + timeoutMs;
			while (lines.length === 0) {
				if (closed) {
					return 'the controller closed the connection';
				}

				const remaining = deadline - Date.now();
				if (remaining <= 0) {
					return 'no answer from the controller in time';
				}

				await new Promise<void>(resolve => {
					const timer = setTimeout(resolve, remaining);
					waiter = () => {
						clearTimeout(timer);
						resolve();
					};
				});
				waiter = undefined;
			}

			const decoded = decodeControllerMessage(lines.shift()!);
			if (!decoded.ok) {
				return `bad message from the controller: ${decoded.reason}`;
			}

			if (decoded.message.type === 'refused') {
				return `refused by the controller: ${decoded.message.reason}`;
			}

			if (decoded.message.type !== type) {
				return `out of order: the controller sent ${decoded.message.type}, expected ${type}`;
			}

			return decoded.message as Expect<T>;
		},
	};
}
