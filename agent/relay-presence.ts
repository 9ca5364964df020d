/**
 * The agent's presence heartbeat over the relay: once as it connects to the broker, then every
 * `intervalMs`, a presence envelope signed with its certificate's key on its own presence subject
 * (source/relay/presence.ts says what the controller checks). A heartbeat that cannot be sent is
 * logged and the next one tried.
 */
import {sealMessage, type Signer} from '../source/protocol/relay-envelope.js';
import {presenceEnvelope, presenceIntervalMs} from '../source/relay/presence.js';

export type PresencePorts = {
	agentName: string;
	/** The key and serial the agent signs with now (a renewal changes them). */
	signing: () => {signer: Signer; serial: string};
	publish: (text: string) => void;
	now: () => number;
	log: (event: string, fields: Record<string, unknown>) => void;
	intervalMs?: number;
};

/** Starts the heartbeat; the function it returns stops it. */
export function startPresence(ports: PresencePorts): () => void {
	const beat = () => {
		try {
			const {signer, serial} = ports.signing();
			ports.publish(sealMessage(presenceEnvelope(ports.agentName, serial, ports.now()), signer));
		} catch (error) {
			ports.log('relay.error', {reason: `a presence heartbeat was not sent: ${(error as Error).message}`});
		}
	};

	beat();
	const timer = setInterval(beat, ports.intervalMs ?? presenceIntervalMs);
	timer.unref();
	return () => clearInterval(timer);
}
