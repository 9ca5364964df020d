/**
 * The controller's pairing listener: open only while `xi-exec pair` (or the console's pairing
 * screen) runs, it accepts pairing and nothing else. Each connection runs one ceremony (see
 * code.ts for the sequence, ceremony.ts for the order of its frames, ceremony-socket.ts for its
 * socket layer); approval is always of one named pending request, by the code the operator read
 * on the agent's screen. The controller's own code is returned only on a match.
 */
import {createServer, type Server, type TLSSocket} from 'node:tls';
import type {AddressInfo} from 'node:net';
import {normaliseSerial} from '../pki/fingerprints.js';
import {issueCertificate} from '../pki/issue.js';
import {x509} from '../pki/x509.js';
import {limits, noneAbandoned} from './ceremony.js';
import {beginCeremony, boundCertificates, endCeremony, expired, feed, pendingView, timedOut, type ListenerState} from './ceremony-socket.js';
import {codeHash, codesMatch, formatCode, normaliseTypedCode} from './code.js';
import type {Approval, PairingListener, PairingListenerOptions} from './listener-types.js';

export type {Approval, PairingEvent, PairingListener, PairingListenerOptions, PendingRequest} from './listener-types.js';

export async function openPairingListener(options: PairingListenerOptions): Promise<PairingListener> {
	const stepMs = options.stepTimeoutMs ?? 10_000;
	const listener: ListenerState = {
		options,
		ceremonies: new Set(),
		abandoned: noneAbandoned,
		stepMs,
		certificates: boundCertificates(options.ca.certificate, new x509.X509Certificate(options.controllerCertificate), new x509.X509Certificate(options.server.cert)),
		caPem: options.ca.certificate.toString('pem'),
	};
	const server: Server = createServer({key: options.server.key, cert: options.server.cert, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', requestCert: false, handshakeTimeout: stepMs});
	server.on('tlsClientError', (error: NodeJS.ErrnoException, socket: TLSSocket) => {
		const source = socket.remoteAddress ?? '?';
		// Node emits this and leaves the socket open (measured: an idle TCP connection stayed 140 s and more).
		socket.destroy();
		options.onEvent({event: 'refused', agent: null, ceremony: null, source, reason: `TLS handshake failed (${error.code ?? error.message}); pairing needs TLS 1.3`});
	});
	server.on('secureConnection', socket => {
		beginCeremony(listener, socket);
	});

	const address = await listen(server, options);
	options.onEvent({event: 'listening', address});
	return {
		address,
		approve: async (agent, typedCode) => approve(listener, agent, typedCode),
		reject(agent, reason = 'rejected by the operator') {
			const ceremony = [...listener.ceremonies].find(candidate => candidate.commit?.name === agent && candidate.state.phase !== 'ended');
			if (!ceremony) {
				return false;
			}

			endCeremony(listener, ceremony, reason);
			return true;
		},
		pending: () => [...listener.ceremonies].filter(ceremony => ceremony.state.phase === 'approval').map(pendingView),
		async close() {
			for (const ceremony of listener.ceremonies) {
				endCeremony(listener, ceremony, 'the pairing listener was closed');
			}

			await new Promise<void>(resolve => {
				server.close(() => {
					resolve();
				});
			});
		},
	};
}

async function listen(server: Server, options: PairingListenerOptions): Promise<string> {
	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(options.listen.port, options.listen.host, () => {
			server.off('error', reject);
			resolve();
		});
	});
	const bound = server.address() as AddressInfo;
	return `${bound.address.includes(':') ? `[${bound.address}]` : bound.address}:${bound.port}`;
}

/** The operator approves `agent`'s pending request with the code read on its screen. */
async function approve(listener: ListenerState, agent: string, typedCode: string): Promise<Approval> {
	const ceremony = [...listener.ceremonies].find(candidate => candidate.state.phase === 'approval' && candidate.commit?.name === agent);
	if (!ceremony) {
		return {ok: false, reason: `no pairing request from ${agent} is waiting for approval`};
	}

	const verdict = feed(listener, ceremony, {type: 'code', matches: codesMatch(typedCode, ceremony.code!), expired: expired(listener, ceremony)});
	if (verdict.act === 'expired') {
		return {ok: false, reason: timedOut(listener)};
	}

	if (verdict.act === 'wrong-code') {
		const {triesLeft} = verdict;
		listener.options.onEvent({event: 'wrong-code', agent, ceremony: ceremony.id, triesLeft, codeHash: codeHash(ceremony.id, typedCode.replace(/[\s-]/g, ''))});
		if (verdict.last) {
			endCeremony(listener, ceremony, `wrong code entered ${limits.wrongCodes} times; the request from ${agent} is refused`);
			return {ok: false, reason: `does not match; that was the last try, the request from ${agent} is refused`};
		}

		return {ok: false, reason: `does not match (${triesLeft} ${triesLeft === 1 ? 'try' : 'tries'} left)`};
	}

	const certificate = await issueCertificate({ca: listener.options.ca, publicKey: ceremony.publicKey!, identity: {role: 'agent', name: agent}, now: listener.options.now()});
	ceremony.certificate = certificate;
	ceremony.serial = normaliseSerial(certificate.serialNumber);
	if (feed(listener, ceremony, {type: 'issued'}).act !== 'send-certificate') {
		return {ok: false, reason: `the request from ${agent} ended while its certificate was being issued`};
	}

	listener.options.onEvent({event: 'approved', agent, ceremony: ceremony.id, serial: ceremony.serial, codeHash: codeHash(ceremony.id, ceremony.code!)});
	return {ok: true, agent, agentCode: formatCode(normaliseTypedCode(typedCode)!), controllerCode: formatCode(ceremony.code!)};
}
