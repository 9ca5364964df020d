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
import {newNonce, relayEnvelopeVersion, relayLimits, sealEnvelope, signerFromPem, type RequestEnvelope, type Signer} from '../protocol/relay-envelope.js';
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
	return request => sealRequest(signing, target, secretPositions, request);
}

/** One request for `target`, sealed: the broker message and the hash its replies name. */
export function sealRequest(signing: ControllerSigning, target: RelayTarget, secretPositions: readonly number[] | undefined, request: RequestWithoutEnvelope): {text: string; hash: string} {
	// The audit head goes into the envelope, not its body.
	const {id, controllerHead: head, ...body} = request as RequestWithoutEnvelope & {controllerHead?: SignedHead};
	const nonce = newNonce();
	const secret = body.type === 'run' && secretPositions ? sealArgs(body.args, secretPositions, target.certificate, {id, agent: target.name, nonce}) : undefined;
	if (secret?.sealed && body.type === 'run') {
		body.args = secret.args;
	}

	const env: RequestEnvelope = {v: relayEnvelopeVersion, kind: 'request', id, seq: signing.nextSequence(), agent: target.name, fleet: signing.fleet, serial: signing.serial, iat: signing.now(), exp: 0, nonce, body};
	env.exp = env.iat + relayLimits.defaultLifetimeMs;
	if (head) {
		env.head = head;
	}

	if (secret?.sealed) {
		env.sealed = secret.sealed;
	}

	// Every run is asked for its status when nothing is heard from it (relay-exchange.ts): the agent may hold its ack back.
	if (body.type === 'run') {
		env.probe = true;
	}

	return sealEnvelope(env, signing.signer);
}
