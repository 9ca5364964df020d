/**
 * The socket layer of one pairing ceremony: it feeds the agent's lines, its own checks' outcomes
 * and the timers to the pure machine (ceremony.ts) and does what each verdict says — sends the
 * controller's frames, reads the registry, checks the CSR and the commitment, records the agent.
 * Lines are handled one at a time: a commit awaits (registry, CSR check), and a second commit in
 * the same chunk must find the first one's phase, not run beside it.
 */
import {randomBytes, randomUUID} from 'node:crypto';
import type {TLSSocket} from 'node:tls';
import {verifyCsr} from '../pki/csr.js';
import {certificateSha256, colonHex, publicKeySha256} from '../pki/fingerprints.js';
import type {x509} from '../pki/x509.js';
import {LineSplitter} from '../protocol/line-splitter.js';
import {addAgent, findAgent} from '../registry/model.js';
import {commitRefusal, connectionRefusal, countAbandoned, newCeremony, nextCeremony, type Abandoned, type CeremonyInput, type CeremonyState, type CeremonyVerdict, type Commit} from './ceremony.js';
import {chooseTransport, recordedTransport, type TransportChoice} from './transport-choice.js';
import {commitment, deriveCode, exporterLabel, nonceBytes, sha256Hex, transcriptHash} from './code.js';
import type {PairingListenerOptions, PendingRequest} from './listener-types.js';
import {encodePairing, pairingFrameBytes, type ControllerMessage} from './messages.js';

export type Ceremony = {
	id: string;
	source: string;
	socket: TLSSocket;
	state: CeremonyState;
	expires: Date;
	commit?: Commit;
	/** How the agent will be reached, chosen when its commit arrived. */
	choice?: TransportChoice;
	publicKey?: x509.PublicKey;
	transcript?: Buffer;
	controllerNonce?: Buffer;
	code?: string;
	serial?: string;
	certificate?: x509.X509Certificate;
	timer: NodeJS.Timeout;
	/** The deadline of the machine step in progress (commit, reveal), if any. */
	step?: NodeJS.Timeout;
};

/** What the listener's ceremonies share: its options, the ceremonies in progress and the abandonment counts. */
export type ListenerState = {
	options: PairingListenerOptions;
	ceremonies: Set<Ceremony>;
	abandoned: Abandoned;
	stepMs: number;
	/** The SHA-256s of the certificates the transcript binds (CA, its key, the controller's, the listener's). */
	certificates: {ca: string; caPublicKey: string; controller: string; server: string};
	caPem: string;
};

export const timedOut = (listener: ListenerState) => `the pairing request timed out after ${listener.options.timeoutMs / 1000} s`;

// The timer ends a ceremony on time; the clock is asked too, so expiry does not depend on the
// timer having fired (and a test can move the clock past it).
export const expired = (listener: ListenerState, ceremony: Ceremony) => listener.options.now().getTime() >= ceremony.expires.getTime();

function send(ceremony: Ceremony, message: ControllerMessage): void {
	if (ceremony.socket.writable) {
		ceremony.socket.write(encodePairing(message));
	}
}

/** Gives the agent's machine one step (`waitingFor`) to answer in, or clears the deadline. */
function expectStep(listener: ListenerState, ceremony: Ceremony, waitingFor: string | undefined): void {
	clearTimeout(ceremony.step);
	ceremony.step = undefined;
	if (waitingFor !== undefined) {
		ceremony.step = setTimeout(() => {
			endCeremony(listener, ceremony, `no ${waitingFor} within ${listener.stepMs / 1000} s`);
		}, listener.stepMs);
		ceremony.step.unref();
	}
}

/**
 * Feeds the machine one input and does the verdicts that need nothing more than the ceremony's
 * own fields; returns the verdict for the caller to finish the ones that need a check.
 */
export function feed(listener: ListenerState, ceremony: Ceremony, input: CeremonyInput): CeremonyVerdict {
	const next = nextCeremony(ceremony.state, input);
	ceremony.state = next.state;
	const {verdict} = next;
	switch (verdict.act) {
		case 'refuse': {
			endCeremony(listener, ceremony, verdict.reason);
			break;
		}

		case 'expired': {
			endCeremony(listener, ceremony, timedOut(listener));
			break;
		}

		case 'end': {
			close(listener, ceremony, verdict.reason, verdict.abandoned);
			break;
		}

		case 'send-nonce': {
			ceremony.controllerNonce = randomBytes(nonceBytes);
			expectStep(listener, ceremony, 'reveal');
			send(ceremony, {type: 'nonce', nonce: ceremony.controllerNonce.toString('hex')});
			break;
		}

		case 'ask-operator': {
			expectStep(listener, ceremony, undefined);
			send(ceremony, {type: 'pending'});
			listener.options.onEvent({event: 'request', ...pendingView(ceremony)});
			break;
		}

		case 'send-certificate': {
			send(ceremony, {type: 'approved', certificate: ceremony.certificate!.toString('pem'), ...(ceremony.choice?.relay ? {relay: ceremony.choice.relay} : {})});
			break;
		}

		default: {
			break;
		}
	}

	return verdict;
}

export function endCeremony(listener: ListenerState, ceremony: Ceremony, reason: string | undefined): void {
	feed(listener, ceremony, reason === undefined ? {type: 'end'} : {type: 'end', reason});
}

function close(listener: ListenerState, ceremony: Ceremony, reason: string | undefined, abandoned: boolean): void {
	if (abandoned && ceremony.commit) {
		listener.abandoned = countAbandoned(listener.abandoned, ceremony.commit.name);
	}

	clearTimeout(ceremony.timer);
	clearTimeout(ceremony.step);
	listener.ceremonies.delete(ceremony);
	if (reason !== undefined) {
		listener.options.onEvent({event: 'refused', agent: ceremony.commit?.name ?? null, ceremony: ceremony.id, source: ceremony.source, reason});
		send(ceremony, {type: 'refused', reason});
	}

	ceremony.socket.end();
	setTimeout(() => ceremony.socket.destroy(), 1000).unref();
}

/** A new TLS connection: refused at once past the limits, or a ceremony begins with the controller's hello. */
export function beginCeremony(listener: ListenerState, socket: TLSSocket): void {
	const source = socket.remoteAddress ?? '?';
	socket.on('error', () => socket.destroy());
	const tls13 = socket.getProtocol() === 'TLSv1.3' && typeof socket.exportKeyingMaterial === 'function';
	const refusal = connectionRefusal([...listener.ceremonies].map(ceremony => ceremony.source), source, tls13);
	if (refusal !== undefined) {
		listener.options.onEvent({event: 'refused', agent: null, ceremony: null, source, reason: refusal});
		socket.end(encodePairing({type: 'refused', reason: refusal}));
		setTimeout(() => socket.destroy(), 1000).unref();
		return;
	}

	const expires = new Date(listener.options.now().getTime() + listener.options.timeoutMs);
	const ceremony: Ceremony = {
		id: randomUUID(),
		source,
		socket,
		state: newCeremony,
		expires,
		timer: setTimeout(() => {
			endCeremony(listener, ceremony, timedOut(listener));
		}, listener.options.timeoutMs),
	};
	ceremony.timer.unref();
	listener.ceremonies.add(ceremony);
	expectStep(listener, ceremony, 'commit');
	const {options} = listener;
	send(ceremony, {type: 'hello', ceremony: ceremony.id, ca: listener.caPem, controller: options.controllerCertificate, controllerName: options.controllerName, expires: expires.toISOString()});

	const splitter = new LineSplitter(pairingFrameBytes);
	let handled = Promise.resolve();
	socket.on('data', (chunk: Buffer) => {
		const {lines, overflow} = splitter.push(chunk);
		for (const line of lines) {
			handled = handled.then(async () => onLine(listener, ceremony, line)).catch((error: unknown) => {
				endCeremony(listener, ceremony, `internal error: ${(error as Error).message}`);
			});
		}

		if (overflow) {
			endCeremony(listener, ceremony, 'pairing frame too large');
		}
	});
	socket.on('close', () => {
		endCeremony(listener, ceremony, 'the agent disconnected');
	});
}

async function onLine(listener: ListenerState, ceremony: Ceremony, line: string): Promise<void> {
	const verdict = feed(listener, ceremony, {type: 'line', line, expired: expired(listener, ceremony)});
	switch (verdict.act) {
		case 'check-commit': {
			await onCommit(listener, ceremony, verdict.commit);
			break;
		}

		case 'check-reveal': {
			onReveal(listener, ceremony, verdict.nonce);
			break;
		}

		case 'record': {
			await onConfirmed(listener, ceremony);
			break;
		}

		default: {
			break;
		}
	}
}

async function onCommit(listener: ListenerState, ceremony: Ceremony, commit: Commit): Promise<void> {
	ceremony.commit = commit;
	const {options} = listener;
	const pendingNames = [...listener.ceremonies].filter(other => other !== ceremony && other.state.phase !== 'ended').flatMap(other => other.commit ? [other.commit.name] : []);
	const refusal = commitRefusal(commit, listener.abandoned, pendingNames);
	if (refusal !== undefined) {
		endCeremony(listener, ceremony, refusal);
		return;
	}

	const chosen = chooseTransport(options.transport ?? {}, commit);
	if (!chosen.ok) {
		endCeremony(listener, ceremony, chosen.reason);
		return;
	}

	ceremony.choice = chosen.choice;
	if (!options.replace && findAgent(await options.registry.read(), commit.name)) {
		endCeremony(listener, ceremony, `${commit.name} is already paired; unpair it, or run \`xi-exec pair --replace\` to pair it again`);
		return;
	}

	const csr = await verifyCsr(commit.csr, {role: 'agent', name: commit.name});
	if (!csr.ok) {
		endCeremony(listener, ceremony, `CSR refused: ${csr.reason}`);
		return;
	}

	ceremony.publicKey = csr.csr.publicKey;
	ceremony.transcript = transcriptHash({
		ceremony: ceremony.id,
		caCertificateSha256: listener.certificates.ca,
		caPublicKeySha256: listener.certificates.caPublicKey,
		controllerCertificateSha256: listener.certificates.controller,
		serverCertificateSha256: listener.certificates.server,
		controllerName: options.controllerName,
		agentName: commit.name,
		agentAddress: commit.address,
		...(commit.relay === undefined ? {} : {agentRelay: commit.relay}),
		agentTags: commit.tags,
		agentPublicKeySha256: sha256Hex(new Uint8Array(csr.csr.publicKey.rawData)),
		csrSha256: sha256Hex(new Uint8Array(csr.csr.rawData)),
		expires: ceremony.expires.toISOString(),
	});
	feed(listener, ceremony, {type: 'committed'});
}

function onReveal(listener: ListenerState, ceremony: Ceremony, nonceHex: string): void {
	const agentNonce = Buffer.from(nonceHex, 'hex');
	if (commitment(ceremony.transcript!, agentNonce) !== ceremony.commit!.commitment) {
		endCeremony(listener, ceremony, 'the revealed nonce does not match the commitment');
		return;
	}

	const keyingMaterial = ceremony.socket.exportKeyingMaterial(32, exporterLabel, Buffer.alloc(0));
	ceremony.code = deriveCode(keyingMaterial, ceremony.controllerNonce!, agentNonce, ceremony.transcript!);
	feed(listener, ceremony, {type: 'revealed'});
}

async function onConfirmed(listener: ListenerState, ceremony: Ceremony): Promise<void> {
	const {commit, certificate} = ceremony;
	const {options} = listener;
	await options.registry.update(registry => addAgent(registry, {
		name: commit!.name,
		address: commit!.address,
		...recordedTransport(ceremony.choice!),
		tags: commit!.tags,
		serial: ceremony.serial!,
		fingerprint: certificateSha256(certificate!),
		certificateIssued: certificate!.notBefore.toISOString(),
		certificateExpires: certificate!.notAfter.toISOString(),
		certificate: certificate!.toString('pem'),
		pairedAt: options.now().toISOString(),
	}, {replace: options.replace}));
	send(ceremony, {type: 'paired'});
	options.onEvent({event: 'paired', agent: commit!.name, ceremony: ceremony.id, serial: ceremony.serial!, address: commit!.address, tags: commit!.tags, ...recordedTransport(ceremony.choice!)});
	endCeremony(listener, ceremony, undefined);
}

export function pendingView(ceremony: Ceremony): PendingRequest {
	return {
		ceremony: ceremony.id,
		agent: ceremony.commit!.name,
		address: ceremony.commit!.address,
		source: ceremony.source,
		tags: ceremony.commit!.tags,
		fingerprint: colonHex(sha256Hex(new Uint8Array(ceremony.publicKey!.rawData))),
		expires: ceremony.expires.toISOString(),
		...recordedTransport(ceremony.choice!),
	};
}

/** The SHA-256s the transcript binds, computed once per listener. */
export function boundCertificates(ca: x509.X509Certificate, controller: x509.X509Certificate, server: x509.X509Certificate): ListenerState['certificates'] {
	return {ca: certificateSha256(ca), caPublicKey: publicKeySha256(ca), controller: certificateSha256(controller), server: certificateSha256(server)};
}
