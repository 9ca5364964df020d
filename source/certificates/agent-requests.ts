/**
 * The controller's side of certificates over time, one exchange per agent over the pinned mutual
 * TLS channel: renew an agent's certificate (its CSR answered with a certificate the CA issues),
 * announce the controller's next serial, tell an agent it is unpaired. Each returns what happened
 * in words an operator can act on; none throws for an agent's failure.
 */
import {randomUUID} from 'node:crypto';
import {exchange, type AgentTarget, type ExchangeEnd, type ClientContext} from '../dispatch/agent-connection.js';
import {verifyCsr} from '../pki/csr.js';
import {certificateSha256, normaliseSerial} from '../pki/fingerprints.js';
import {issueCertificate, type CertificateAuthority} from '../pki/issue.js';
import type {ResponseFrame} from '../protocol/frames.js';

export type AgentRequestOptions = {context: ClientContext; timeoutMs: number; caller: string; revoked?: ReadonlySet<string>};

export type Renewed = {ok: true; serial: string; fingerprint: string; notBefore: string; notAfter: string; certificate: string};
export type Failed = {ok: false; reason: string};

export async function renewAgent(target: AgentTarget, options: AgentRequestOptions & {ca: CertificateAuthority; now: () => Date}): Promise<Renewed | Failed> {
	const id = randomUUID();
	let issued: Omit<Renewed, 'ok'> | undefined;
	const end = await exchange(target, {type: 'renew', id, caller: options.caller}, {
		...common(options),
		onFrame(frame, reply, fail) {
			if (frame.type !== 'csr') {
				fail(`unexpected ${frame.type} frame during a renewal`);
				return;
			}

			void (async () => {
				const checked = await verifyCsr(frame.csr, {role: 'agent', name: target.name});
				if (!checked.ok) {
					fail(`the agent's CSR was refused: ${checked.reason}`);
					return;
				}

				const certificate = await issueCertificate({ca: options.ca, publicKey: checked.csr.publicKey, identity: {role: 'agent', name: target.name}, now: options.now()});
				issued = {serial: normaliseSerial(certificate.serialNumber), fingerprint: certificateSha256(certificate), notBefore: certificate.notBefore.toISOString(), notAfter: certificate.notAfter.toISOString(), certificate: certificate.toString('pem')};
				reply({type: 'certificate', id, certificate: certificate.toString('pem')});
			})().catch((error: unknown) => {
				fail(`issuing failed: ${(error as Error).message}`);
			});
		},
	});
	const frame = terminal(end, 'renewed');
	if (!frame.ok) {
		return frame;
	}

	if (!issued || frame.frame.serial !== issued.serial) {
		return {ok: false, reason: 'the agent confirmed a certificate the controller did not issue'};
	}

	return {ok: true, ...issued};
}

export async function announceSerial(target: AgentTarget, serial: string, options: AgentRequestOptions): Promise<{ok: true; serials: string[]} | Failed> {
	const end = await exchange(target, {type: 'pin', id: randomUUID(), caller: options.caller, serial}, common(options));
	const frame = terminal(end, 'pinned');
	if (!frame.ok) {
		return frame;
	}

	return frame.frame.serials.includes(serial) ? {ok: true, serials: frame.frame.serials} : {ok: false, reason: 'the agent did not pin the announced serial'};
}

export async function tellUnpaired(target: AgentTarget, options: AgentRequestOptions): Promise<{ok: true} | Failed> {
	const end = await exchange(target, {type: 'unpair', id: randomUUID(), caller: options.caller}, common(options));
	const frame = terminal(end, 'unpaired');
	return frame.ok ? {ok: true} : frame;
}

function common(options: AgentRequestOptions) {
	return {context: options.context, connectTimeoutMs: options.timeoutMs, deadlineMs: options.timeoutMs, ...(options.revoked ? {revoked: options.revoked} : {})};
}

function terminal<T extends ResponseFrame['type']>(end: ExchangeEnd, type: T): {ok: true; frame: Extract<ResponseFrame, {type: T}>} | Failed {
	if (end.kind === 'terminal') {
		if (end.frame.type === type) {
			return {ok: true, frame: end.frame as Extract<ResponseFrame, {type: T}>};
		}

		return {ok: false, reason: end.frame.type === 'error' ? end.frame.message : `unexpected ${end.frame.type} frame`};
	}

	return {ok: false, reason: end.kind === 'deadline' ? 'no answer in time' : end.reason};
}
