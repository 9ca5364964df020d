/**
 * The controller's request envelopes (relay-envelope.ts): who signs them (the controller
 * certificate's key, serial and fleet, read once per link), and one envelope per request for one
 * agent, with a fresh nonce, the next sequence number, the controller's audit head taken out of the
 * body into the envelope, and a run's secret arguments (`sealArgs`) sealed to the agent's
 * certificate key as the registry holds it, bound to this one envelope (sealed-args.ts), and on a
 * run `probe`: this controller asks a run it hears nothing from for its status.
 */
import {certificateFacts} from '../pki/certificate-facts.js';
import type {SignedHead} from '../protocol/frames.js';
import {newNonce, requestEnvelope, sealEnvelope, signerFromPem, type RequestBody, type Signer} from '../protocol/relay-envelope.js';
import {sealArgs} from '../protocol/sealed-args.js';
import {requestSequence} from '../relay/request-sequence.js';
import type {RequestWithoutEnvelope} from './exchange-end.js';
import type {RelayTarget} from './relay-exchange.js';

export type ControllerSigning = {signer: Signer; serial: string; fleet: string; nextSequence: () => number; now: () => number};

/** Throws when the controller certificate or the CA certificate cannot be read. */
export function controllerSigning(credentials: {key: string; cert: string; ca: string}, now: () => number): ControllerSigning {
	const signer = signerFromPem(credentials.key, credentials.cert);
	const serial = certificateFacts(Buffer.from(credentials.cert))?.serial ?? '';
	const fleet = certificateFacts(Buffer.from(credentials.ca))?.publicKeySha256 ?? '';
	if (!serial || !fleet) {
		throw new Error('the controller certificate or the CA certificate cannot be read');
	}

	return {signer, serial, fleet, nextSequence: requestSequence(now), now};
}

/** Seals each request of one exchange for `target`: the broker message and the hash its replies name. */
export function requestSealer(signing: ControllerSigning, target: RelayTarget, secretPositions?: readonly number[]): (request: RequestWithoutEnvelope) => {text: string; hash: string} {
	return request => {
		const {id, ...rest} = request;
		const body = {...rest} as RequestBody & {controllerHead?: SignedHead};
		const head = body.controllerHead;
		delete body.controllerHead;
		const nonce = newNonce();
		const secret = body.type === 'run' && secretPositions ? sealArgs(body.args, secretPositions, target.certificate, {id, agent: target.name, nonce}) : undefined;
		if (secret?.sealed && body.type === 'run') {
			body.args = secret.args;
		}

		// Every run is asked for its status when nothing is heard from it (relay-exchange.ts): the agent may hold its ack back.
		const probe = body.type === 'run' ? {probe: true as const} : {};
		const env = requestEnvelope({id, seq: signing.nextSequence(), agent: target.name, fleet: signing.fleet, serial: signing.serial, iat: signing.now(), nonce, ...(head ? {head} : {}), ...(secret?.sealed ? {sealed: secret.sealed} : {}), ...probe, body});
		return sealEnvelope(env, signing.signer);
	};
}
