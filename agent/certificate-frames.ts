/**
 * The agent's side of certificates over time, on a connection already authenticated as the pinned
 * controller:
 *
 *   renew        make a new key pair (it never leaves this host) and answer with its CSR
 *   certificate  check what the controller issued for that key (fleet CA, this agent's identity,
 *                this key, valid now), install key and certificate as a pair, serve new
 *                connections with them (connections already open keep the old ones), answer
 *                `renewed`
 *   pin          add the controller's next serial to the pins (answered `pinned`)
 *   unpair       delete the key, the certificate and the pins, answer `unpaired`, then stop
 *
 * Every step is recorded in the agent's audit log before it is answered; a record that cannot be
 * written refuses the step (fail closed), as for runs.
 */
import {createHash} from 'node:crypto';
import {normaliseSerial} from '../source/pki/fingerprints.js';
import type {x509} from '../source/pki/x509.js';
import {encodeFrame} from '../source/protocol/encode.js';
import type {CertificateFrame, PinFrame, RenewFrame, UnpairFrame} from '../source/protocol/frames.js';
import type {AgentCredentials} from './credentials.js';
import type {AgentRecorder} from './execute-run.js';
import {announceSerial, type Pins} from './pins.js';

export type CertificatePorts = {
	agentName: string;
	credentials: () => AgentCredentials;
	install: (next: {key: string; cert: string}) => void;
	/** Unpairing: delete the key, the certificate and the pins. */
	forget: () => void;
	/** Called once the `unpaired` answer is sent: the agent stops serving. */
	stop: () => void;
	pins: () => Pins;
	savePins: (pins: Pins) => void;
	recorder: AgentRecorder & {checkpoint?: () => Promise<void>};
	now: () => number;
};

/** The PKI library, loaded at the first renewal rather than at every agent start (memory, start time). */
async function pki() {
	const [csr, keys, verify, library] = await Promise.all([import('../source/pki/csr.js'), import('../source/pki/keys.js'), import('../source/pki/verify.js'), import('../source/pki/x509.js')]);
	return {...csr, ...keys, ...verify, ...library};
}

/** What one connection remembers between `renew` and `certificate`: the new key, in memory only. */
export type PendingRenewal = {keyPem: string; publicKeySha256: string};

export type Reply = {line: string; after?: () => void};

function errorLine(id: string, message: string): string {
	return encodeFrame({type: 'error', id, code: 'forbidden', message});
}

export async function startRenewal(frame: RenewFrame, ports: CertificatePorts): Promise<{reply: Reply; pending?: PendingRenewal}> {
	const {createCsr, generateKeyPair, privateKeyToPem, subtle} = await pki();
	const keys = await generateKeyPair();
	const csr = await createCsr(keys, {role: 'agent', name: ports.agentName});
	const spki = Buffer.from(await subtle.exportKey('spki', keys.publicKey));
	await ports.recorder.record('cert.renewal-started', {requestId: frame.id, caller: frame.caller});
	return {
		reply: {line: encodeFrame({type: 'csr', id: frame.id, csr: csr.toString('pem')})},
		pending: {keyPem: await privateKeyToPem(keys.privateKey), publicKeySha256: createHash('sha256').update(spki).digest('hex')},
	};
}

export async function finishRenewal(frame: CertificateFrame, pending: PendingRenewal | undefined, ports: CertificatePorts): Promise<Reply> {
	const refuse = async (reason: string): Promise<Reply> => {
		await ports.recorder.record('cert.renewal-refused', {requestId: frame.id, reason});
		return {line: errorLine(frame.id, `renewal refused: ${reason}`)};
	};

	if (!pending) {
		return refuse('no renewal was started on this connection');
	}

	const {checkIssuedBy, x509: library} = await pki();
	let issued: x509.X509Certificate;
	try {
		issued = new library.X509Certificate(frame.certificate);
	} catch {
		return refuse('the certificate cannot be parsed');
	}

	const current = ports.credentials();
	const problem = await checkIssuedBy(issued, new library.X509Certificate(current.ca), {role: 'agent', name: ports.agentName}, new Date(ports.now()));
	if (problem) {
		return refuse(problem);
	}

	if (createHash('sha256').update(Buffer.from(issued.publicKey.rawData)).digest('hex') !== pending.publicKeySha256) {
		return refuse('the certificate is not for the key this agent just made');
	}

	const previous = normaliseSerial(new library.X509Certificate(current.cert).serialNumber);
	const serial = normaliseSerial(issued.serialNumber);
	await ports.recorder.record('cert.renewed', {requestId: frame.id, previousSerial: previous, serial, notAfter: issued.notAfter.toISOString()});
	ports.install({key: pending.keyPem, cert: issued.toString('pem')});
	await ports.recorder.checkpoint?.();
	return {line: encodeFrame({type: 'renewed', id: frame.id, serial, notAfter: issued.notAfter.toISOString()})};
}

export async function acceptPin(frame: PinFrame, ports: CertificatePorts): Promise<Reply> {
	const serial = normaliseSerial(frame.serial);
	const pins = announceSerial(ports.pins(), serial);
	await ports.recorder.record('controller.serial-announced', {requestId: frame.id, caller: frame.caller, serial, controllerSerials: pins.controllerSerials});
	ports.savePins(pins);
	await ports.recorder.checkpoint?.();
	return {line: encodeFrame({type: 'pinned', id: frame.id, serials: pins.controllerSerials})};
}

export async function acceptUnpair(frame: UnpairFrame, ports: CertificatePorts): Promise<Reply> {
	await ports.recorder.record('agent.unpaired', {requestId: frame.id, caller: frame.caller});
	await ports.recorder.checkpoint?.();
	ports.forget();
	return {line: encodeFrame({type: 'unpaired', id: frame.id}), after: ports.stop};
}
