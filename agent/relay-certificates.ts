/**
 * Certificates over time answered over the relay, with the same steps as over direct TLS
 * (certificate-frames.ts): `renew` answers a CSR for a new key, and the `certificate` that
 * follows under the same request id (the controller's next envelope of that request) installs
 * it; `pin` adds the controller's next serial; `unpair` deletes the credentials, answers, then
 * stops the agent. Each request reached here only after the same envelope checks as a run
 * (relay-accept.ts: pinned controller, target, signature, freshness, sequence). One step at a
 * time, in order; one renewal at a time, and a renewal whose certificate does not come within
 * the idle timeout is dropped (its key was only ever in memory).
 */
import type {CertificateFrame} from './connection-rules.js';
import {acceptPin, acceptUnpair, finishRenewal, startRenewal, type CertificatePorts, type PendingRenewal, type Reply} from './certificate-frames.js';
import type {AgentLog} from './execute-run.js';
import type {ReplyBody} from '../source/protocol/relay-envelope.js';

export type RelayCertificates = {
	/** Handles one certificate frame; `reply` publishes a signed reply to it. */
	handle: (frame: CertificateFrame, reply: (body: ReplyBody) => void) => void;
	/** Waits for the step in progress. */
	settled: () => Promise<void>;
};

export function relayCertificates(ports: CertificatePorts, options: {log: AgentLog; idleTimeoutMs: number}): RelayCertificates {
	let steps = Promise.resolve();
	let renewal: {id: string; pending: PendingRenewal; timer: NodeJS.Timeout} | undefined;

	const bodyOf = (line: string): ReplyBody => {
		const {v: _version, ...body} = JSON.parse(line) as ReplyBody & {v: number};
		return body;
	};

	async function step(frame: CertificateFrame, reply: (body: ReplyBody) => void): Promise<void> {
		let answer: Reply;
		switch (frame.type) {
			case 'renew': {
				if (renewal) {
					reply({type: 'error', id: frame.id, code: 'busy', message: 'a renewal of this agent is already in progress'});
					return;
				}

				const started = await startRenewal(frame, ports);
				if (started.pending) {
					const timer = setTimeout(() => {
						options.log('protocol.error', {source: 'relay', requestId: frame.id, reason: 'no certificate after the CSR'});
						renewal = undefined;
					}, options.idleTimeoutMs);
					timer.unref();
					renewal = {id: frame.id, pending: started.pending, timer};
				}

				answer = started.reply;
				break;
			}

			case 'certificate': {
				const pending = renewal?.id === frame.id ? renewal : undefined;
				if (pending) {
					clearTimeout(pending.timer);
					renewal = undefined;
				}

				answer = await finishRenewal(frame, pending?.pending, ports);
				break;
			}

			case 'pin': {
				answer = await acceptPin(frame, ports);
				break;
			}

			case 'unpair': {
				answer = await acceptUnpair(frame, ports);
				break;
			}
		}

		options.log(`certificate.${frame.type}`, {source: 'relay', requestId: frame.id});
		reply(bodyOf(answer.line));
		answer.after?.();
	}

	return {
		handle(frame, reply) {
			steps = steps.then(async () => step(frame, reply)).catch((error: unknown) => {
				options.log('certificate.error', {source: 'relay', requestId: frame.id, step: frame.type, reason: (error as Error).message});
				reply({type: 'error', id: frame.id, code: 'forbidden', message: `${frame.type} failed on the agent: ${(error as Error).message}`});
			});
		},
		settled: async () => steps,
	};
}
