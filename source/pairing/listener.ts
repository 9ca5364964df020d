/**
 * The controller's pairing listener: open only while `xi-exec pair` (or the console's pairing
 * screen) runs, it accepts pairing and nothing else. Each connection runs one ceremony (see
 * code.ts for the sequence); approval is always of one named pending request, by the code the
 * operator read on the agent's screen. The controller's own code is returned only on a match.
 */
import {randomBytes, randomUUID} from 'node:crypto';
import {createServer, type Server, type TLSSocket} from 'node:tls';
import type {AddressInfo} from 'node:net';
import {parseHostPort, type HostPort} from '../io/address.js';
import type {TlsCredentials} from '../pki/credentials.js';
import {parseTag} from '../policy/tags.js';
import {LineSplitter} from '../protocol/line-splitter.js';
import {isAgentName} from '../protocol/text-checks.js';
import {certificateSha256, colonHex, normaliseSerial, publicKeySha256} from '../pki/fingerprints.js';
import {verifyCsr} from '../pki/csr.js';
import {issueCertificate, type CertificateAuthority} from '../pki/issue.js';
import {x509} from '../pki/x509.js';
import {addAgent, findAgent} from '../registry/model.js';
import type {RegistryStore} from '../registry/store.js';
import {codeHash, codesMatch, commitment, deriveCode, exporterLabel, formatCode, nonceBytes, normaliseTypedCode, sha256Hex, transcriptHash} from './code.js';
import {decodeAgentMessage, encodePairing, pairingFrameBytes, type AgentMessage, type ControllerMessage} from './messages.js';

export type PendingRequest = {
	ceremony: string;
	agent: string;
	address: string;
	source: string;
	tags: Record<string, string>;
	fingerprint: string;
	expires: string;
};

export type PairingEvent =
	| {event: 'listening'; address: string}
	| ({event: 'request'} & PendingRequest)
	| {event: 'wrong-code'; agent: string; ceremony: string; triesLeft: number; codeHash: string}
	| {event: 'approved'; agent: string; ceremony: string; serial: string; codeHash: string}
	| {event: 'paired'; agent: string; ceremony: string; serial: string; address: string; tags: Record<string, string>}
	| {event: 'refused'; agent: string | null; ceremony: string | null; source: string; reason: string};

export type Approval =
	| {ok: true; agent: string; agentCode: string; controllerCode: string}
	| {ok: false; reason: string};

export type PairingListenerOptions = {
	listen: HostPort;
	server: TlsCredentials;
	ca: CertificateAuthority;
	controllerCertificate: string;
	controllerName: string;
	registry: RegistryStore;
	replace: boolean;
	timeoutMs: number;
	/**
	 * How long the agent's machine steps may take (the TLS handshake, its commit after the hello,
	 * its reveal after the nonce; default 10 s): a connection idle past it is cut. Only the waits
	 * for a person (the operator's approval, the agent's confirmation) get `timeoutMs`.
	 */
	stepTimeoutMs?: number;
	now: () => Date;
	onEvent: (event: PairingEvent) => void;
};

export type PairingListener = {
	address: string;
	approve: (agent: string, typedCode: string) => Promise<Approval>;
	reject: (agent: string, reason?: string) => boolean;
	pending: () => PendingRequest[];
	close: () => Promise<void>;
};

/**
 * `abandoned…`: ceremonies dropped after the controller sent its nonce and before the agent
 * revealed its own. That is what a relay grinding for a matching code across ceremonies does (it
 * can compute the controller's code from its own side, and walks away when it does not match the
 * agent's), so past these counts the listener stops accepting that name, then anyone.
 */
export const limits = {pending: 8, pendingPerSource: 2, wrongCodes: 3, abandonedPerName: 3, abandonedTotal: 16};

/** `issuing`: the operator's code matched and the certificate is being signed (no second approval). */
type Phase = 'commit' | 'reveal' | 'approval' | 'issuing' | 'confirmation' | 'ended';

type Ceremony = {
	id: string;
	source: string;
	socket: TLSSocket;
	phase: Phase;
	expires: Date;
	commit?: Extract<AgentMessage, {type: 'commit'}>;
	publicKey?: x509.PublicKey;
	transcript?: Buffer;
	controllerNonce?: Buffer;
	code?: string;
	wrongCodes: number;
	serial?: string;
	certificate?: x509.X509Certificate;
	timer: NodeJS.Timeout;
	/** The deadline of the machine step in progress (commit, reveal), if any. */
	step?: NodeJS.Timeout;
};

export async function openPairingListener(options: PairingListenerOptions): Promise<PairingListener> {
	const ceremonies = new Set<Ceremony>();
	const caCertificate = options.ca.certificate;
	const caPem = caCertificate.toString('pem');
	const serverCertificate = new x509.X509Certificate(options.server.cert);

	const stepMs = options.stepTimeoutMs ?? 10_000;
	const server: Server = createServer({key: options.server.key, cert: options.server.cert, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', requestCert: false, handshakeTimeout: stepMs});
	server.on('tlsClientError', (error: NodeJS.ErrnoException, socket: TLSSocket) => {
		const source = socket.remoteAddress ?? '?';
		// Node emits this and leaves the socket open (measured: an idle TCP connection stayed 140 s and more).
		socket.destroy();
		options.onEvent({event: 'refused', agent: null, ceremony: null, source, reason: `TLS handshake failed (${error.code ?? error.message}); pairing needs TLS 1.3`});
	});
	server.on('secureConnection', socket => {
		begin(socket);
	});

	const timedOut = `the pairing request timed out after ${options.timeoutMs / 1000} s`;
	// The timer ends a ceremony on time; the clock is asked too, so expiry does not depend on the
	// timer having fired (and a test can move the clock past it).
	const expired = (ceremony: Ceremony) => options.now().getTime() >= ceremony.expires.getTime();

	const abandoned = new Map<string, number>();
	let abandonedTotal = 0;

	function end(ceremony: Ceremony, reason: string | undefined): void {
		if (ceremony.phase === 'ended') {
			return;
		}

		if (ceremony.phase === 'reveal' && ceremony.commit) {
			abandoned.set(ceremony.commit.name, (abandoned.get(ceremony.commit.name) ?? 0) + 1);
			abandonedTotal++;
		}

		ceremony.phase = 'ended';
		clearTimeout(ceremony.timer);
		clearTimeout(ceremony.step);
		ceremonies.delete(ceremony);
		if (reason !== undefined) {
			options.onEvent({event: 'refused', agent: ceremony.commit?.name ?? null, ceremony: ceremony.id, source: ceremony.source, reason});
			send(ceremony, {type: 'refused', reason});
		}

		ceremony.socket.end();
		setTimeout(() => ceremony.socket.destroy(), 1000).unref();
	}

	/** Gives the agent's machine one step (`waitingFor`) to answer in, or clears the deadline. */
	function expectStep(ceremony: Ceremony, waitingFor: string | undefined): void {
		clearTimeout(ceremony.step);
		ceremony.step = undefined;
		if (waitingFor !== undefined) {
			ceremony.step = setTimeout(() => {
				end(ceremony, `no ${waitingFor} within ${stepMs / 1000} s`);
			}, stepMs);
			ceremony.step.unref();
		}
	}

	function send(ceremony: Ceremony, message: ControllerMessage): void {
		if (ceremony.socket.writable) {
			ceremony.socket.write(encodePairing(message));
		}
	}

	function begin(socket: TLSSocket): void {
		const source = socket.remoteAddress ?? '?';
		socket.on('error', () => socket.destroy());
		const refuseEarly = (reason: string) => {
			options.onEvent({event: 'refused', agent: null, ceremony: null, source, reason});
			socket.end(encodePairing({type: 'refused', reason}));
			setTimeout(() => socket.destroy(), 1000).unref();
		};

		if (socket.getProtocol() !== 'TLSv1.3' || typeof socket.exportKeyingMaterial !== 'function') {
			refuseEarly('pairing needs TLS 1.3 with an exporter');
			return;
		}

		const active = [...ceremonies];
		if (active.length >= limits.pending) {
			refuseEarly(`too many pairing requests in progress (${limits.pending}); try again later`);
			return;
		}

		if (active.filter(ceremony => ceremony.source === source).length >= limits.pendingPerSource) {
			refuseEarly(`too many pairing requests from ${source} (${limits.pendingPerSource}); finish or cancel one first`);
			return;
		}

		const expires = new Date(options.now().getTime() + options.timeoutMs);
		const ceremony: Ceremony = {
			id: randomUUID(),
			source,
			socket,
			phase: 'commit',
			expires,
			wrongCodes: 0,
			timer: setTimeout(() => {
				end(ceremony, timedOut);
			}, options.timeoutMs),
		};
		ceremony.timer.unref();
		ceremonies.add(ceremony);
		expectStep(ceremony, 'commit');
		send(ceremony, {type: 'hello', ceremony: ceremony.id, ca: caPem, controller: options.controllerCertificate, controllerName: options.controllerName, expires: expires.toISOString()});

		const splitter = new LineSplitter(pairingFrameBytes);
		// One frame at a time: handling a commit awaits (registry, CSR check), and a second commit in
		// the same chunk must find the first one's phase, not run beside it.
		let handled = Promise.resolve();
		socket.on('data', (chunk: Buffer) => {
			const {lines, overflow} = splitter.push(chunk);
			for (const line of lines) {
				handled = handled.then(async () => onLine(ceremony, line)).catch((error: unknown) => {
					end(ceremony, `internal error: ${(error as Error).message}`);
				});
			}

			if (overflow) {
				end(ceremony, 'pairing frame too large');
			}
		});
		socket.on('close', () => {
			end(ceremony, ceremony.phase === 'ended' ? undefined : 'the agent disconnected');
		});
	}

	async function onLine(ceremony: Ceremony, line: string): Promise<void> {
		if (ceremony.phase === 'ended') {
			return;
		}

		if (expired(ceremony)) {
			end(ceremony, timedOut);
			return;
		}

		const decoded = decodeAgentMessage(line);
		if (!decoded.ok) {
			end(ceremony, `bad pairing message: ${decoded.reason}`);
			return;
		}

		const {message} = decoded;
		const expected = {commit: 'commit', reveal: 'reveal', approval: undefined, issuing: undefined, confirmation: 'confirmed'}[ceremony.phase];
		if (message.type === 'declined') {
			end(ceremony, `declined on the agent: ${message.reason}`);
			return;
		}

		if (message.type !== expected) {
			end(ceremony, `out of order: got ${message.type} while ${expected === undefined ? 'waiting for the operator' : `expecting ${expected}`}`);
			return;
		}

		if (message.type === 'commit') {
			await onCommit(ceremony, message);
		} else if (message.type === 'reveal') {
			onReveal(ceremony, message.nonce);
		} else if (message.type === 'confirmed') {
			await onConfirmed(ceremony);
		}
	}

	async function onCommit(ceremony: Ceremony, commit: Extract<AgentMessage, {type: 'commit'}>): Promise<void> {
		ceremony.commit = commit;
		if (!isAgentName(commit.name)) {
			end(ceremony, `agent name ${JSON.stringify(commit.name)} is not valid`);
			return;
		}

		if (typeof parseHostPort(commit.address) === 'string') {
			end(ceremony, `agent address ${JSON.stringify(commit.address)} is not HOST:PORT`);
			return;
		}

		const badTag = Object.entries(commit.tags).map(([key, value]) => parseTag(`${key}=${value}`)).find(tag => !tag.ok);
		if (badTag && !badTag.ok) {
			end(ceremony, `proposed tags refused: ${badTag.reason}`);
			return;
		}

		if (abandonedTotal >= limits.abandonedTotal || (abandoned.get(commit.name) ?? 0) >= limits.abandonedPerName) {
			end(ceremony, `too many pairing attempts${abandonedTotal >= limits.abandonedTotal ? '' : ` for ${commit.name}`} were abandoned before the code was fixed, which is what a man in the middle trying codes does; check the network path, then restart the pairing listener`);
			return;
		}

		if ([...ceremonies].some(other => other !== ceremony && other.commit?.name === commit.name && other.phase !== 'ended')) {
			end(ceremony, `a pairing request for ${commit.name} is already pending`);
			return;
		}

		if (!options.replace && findAgent(await options.registry.read(), commit.name)) {
			end(ceremony, `${commit.name} is already paired; unpair it, or run \`xi-exec pair --replace\` to pair it again`);
			return;
		}

		const csr = await verifyCsr(commit.csr, {role: 'agent', name: commit.name});
		if (!csr.ok) {
			end(ceremony, `CSR refused: ${csr.reason}`);
			return;
		}

		ceremony.publicKey = csr.csr.publicKey;
		ceremony.transcript = transcriptHash({
			ceremony: ceremony.id,
			caCertificateSha256: certificateSha256(caCertificate),
			caPublicKeySha256: publicKeySha256(caCertificate),
			controllerCertificateSha256: certificateSha256(new x509.X509Certificate(options.controllerCertificate)),
			serverCertificateSha256: certificateSha256(serverCertificate),
			controllerName: options.controllerName,
			agentName: commit.name,
			agentAddress: commit.address,
			agentTags: commit.tags,
			agentPublicKeySha256: sha256Hex(new Uint8Array(csr.csr.publicKey.rawData)),
			csrSha256: sha256Hex(new Uint8Array(csr.csr.rawData)),
			expires: ceremony.expires.toISOString(),
		});
		ceremony.controllerNonce = randomBytes(nonceBytes);
		ceremony.phase = 'reveal';
		expectStep(ceremony, 'reveal');
		send(ceremony, {type: 'nonce', nonce: ceremony.controllerNonce.toString('hex')});
	}

	function onReveal(ceremony: Ceremony, nonceHex: string): void {
		const agentNonce = Buffer.from(nonceHex, 'hex');
		if (commitment(ceremony.transcript!, agentNonce) !== ceremony.commit!.commitment) {
			end(ceremony, 'the revealed nonce does not match the commitment');
			return;
		}

		const keyingMaterial = ceremony.socket.exportKeyingMaterial(32, exporterLabel, Buffer.alloc(0));
		ceremony.code = deriveCode(keyingMaterial, ceremony.controllerNonce!, agentNonce, ceremony.transcript!);
		ceremony.phase = 'approval';
		expectStep(ceremony, undefined);
		send(ceremony, {type: 'pending'});
		options.onEvent({event: 'request', ...view(ceremony)});
	}

	async function onConfirmed(ceremony: Ceremony): Promise<void> {
		const {commit, certificate} = ceremony;
		await options.registry.update(registry => addAgent(registry, {
			name: commit!.name,
			address: commit!.address,
			tags: commit!.tags,
			serial: ceremony.serial!,
			fingerprint: certificateSha256(certificate!),
			certificateIssued: certificate!.notBefore.toISOString(),
			certificateExpires: certificate!.notAfter.toISOString(),
			certificate: certificate!.toString('pem'),
			pairedAt: options.now().toISOString(),
		}, {replace: options.replace}));
		send(ceremony, {type: 'paired'});
		options.onEvent({event: 'paired', agent: commit!.name, ceremony: ceremony.id, serial: ceremony.serial!, address: commit!.address, tags: commit!.tags});
		end(ceremony, undefined);
	}

	function view(ceremony: Ceremony): PendingRequest {
		return {
			ceremony: ceremony.id,
			agent: ceremony.commit!.name,
			address: ceremony.commit!.address,
			source: ceremony.source,
			tags: ceremony.commit!.tags,
			fingerprint: colonHex(sha256Hex(new Uint8Array(ceremony.publicKey!.rawData))),
			expires: ceremony.expires.toISOString(),
		};
	}

	const findPending = (agent: string) => [...ceremonies].find(ceremony => ceremony.phase === 'approval' && ceremony.commit?.name === agent);

	async function approve(agent: string, typedCode: string): Promise<Approval> {
		const ceremony = findPending(agent);
		if (!ceremony) {
			return {ok: false, reason: `no pairing request from ${agent} is waiting for approval`};
		}

		if (expired(ceremony)) {
			end(ceremony, timedOut);
			return {ok: false, reason: timedOut};
		}

		if (!codesMatch(typedCode, ceremony.code!)) {
			ceremony.wrongCodes++;
			const triesLeft = limits.wrongCodes - ceremony.wrongCodes;
			options.onEvent({event: 'wrong-code', agent, ceremony: ceremony.id, triesLeft, codeHash: codeHash(ceremony.id, typedCode.replace(/[\s-]/g, ''))});
			if (triesLeft <= 0) {
				end(ceremony, `wrong code entered ${limits.wrongCodes} times; the request from ${agent} is refused`);
				return {ok: false, reason: `does not match; that was the last try, the request from ${agent} is refused`};
			}

			return {ok: false, reason: `does not match (${triesLeft} ${triesLeft === 1 ? 'try' : 'tries'} left)`};
		}

		ceremony.phase = 'issuing';
		const certificate = await issueCertificate({ca: options.ca, publicKey: ceremony.publicKey!, identity: {role: 'agent', name: agent}, now: options.now()});
		if (ceremony.phase !== 'issuing') {
			return {ok: false, reason: `the request from ${agent} ended while its certificate was being issued`};
		}

		ceremony.certificate = certificate;
		ceremony.serial = normaliseSerial(certificate.serialNumber);
		ceremony.phase = 'confirmation';
		send(ceremony, {type: 'approved', certificate: certificate.toString('pem')});
		options.onEvent({event: 'approved', agent, ceremony: ceremony.id, serial: ceremony.serial, codeHash: codeHash(ceremony.id, ceremony.code!)});
		return {ok: true, agent, agentCode: formatCode(normaliseTypedCode(typedCode)!), controllerCode: formatCode(ceremony.code!)};
	}

	function reject(agent: string, reason = 'rejected by the operator'): boolean {
		const ceremony = [...ceremonies].find(candidate => candidate.commit?.name === agent && candidate.phase !== 'ended');
		if (!ceremony) {
			return false;
		}

		end(ceremony, reason);
		return true;
	}

	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(options.listen.port, options.listen.host, () => {
			server.off('error', reject);
			resolve();
		});
	});
	const bound = server.address() as AddressInfo;
	const address = `${bound.address.includes(':') ? `[${bound.address}]` : bound.address}:${bound.port}`;
	options.onEvent({event: 'listening', address});

	return {
		address,
		approve,
		reject,
		pending: () => [...ceremonies].filter(ceremony => ceremony.phase === 'approval').map(view),
		async close() {
			for (const ceremony of ceremonies) {
				end(ceremony, 'the pairing listener was closed');
			}

			await new Promise<void>(resolve => {
				server.close(() => {
					resolve();
				});
			});
		},
	};
}
