/**
 * What the agent does with one message from its request subject, without the broker: the
 * acceptance checks decide (relay-accept.ts, passed in as `accept`); a refusal is logged and
 * audited, and answered with a signed error, except a replay (the original is being, or was,
 * answered already). An accepted request is answered on its own reply chain (relay-sealer.ts:
 * chained, the deciding replies signed with the key the request found; a renewal it causes
 * installs a new one, but the controller checks this exchange's replies against the certificate
 * it started with):
 * - `describe`: the agent's tags and scripts;
 * - `run`: relay-runs.ts, acknowledged only if it has said nothing for a while (relay-sealer.ts)
 *   when the envelope says the controller asks a quiet run for its status (`probe`), else at once
 *   (a controller from before the held ack waits for the ack); its terminal reply is kept in `results` (on disk when started by
 *   relay-start.ts) before it is published, so that even an agent killed right after sending it
 *   answers the controller's `status` with it once it is back;
 * - `cancel`: aborts the run of that id, and says whether there was one;
 * - `status`: whether the request is known, and the run's kept result sent again verbatim;
 * - `renew`, `certificate`, `pin`, `unpair`: relay-certificates.ts when the agent has it.
 */
import type {RequestFrame, ScriptDescription} from '../source/protocol/frames.js';
import type {ReplyBody, Signer} from '../source/protocol/relay-envelope.js';
import type {AgentLog} from './execute-run.js';
import type {Accepted, Refused} from './relay-accept.js';
import type {RelayCertificates} from './relay-certificates.js';
import type {RelayResults} from './relay-results.js';
import type {RelayRuns} from './relay-runs.js';
import {ReplySealer} from './relay-sealer.js';

export type AgentSigning = {signer: Signer; serial: string};

export type RelayRequestPorts = {
	agentName: string;
	/** The key and serial the agent signs with now. */
	signing: () => AgentSigning;
	/** The acceptance checks (relay-accept.ts) with this agent's pins, CA, guard and clock; `agentKey` opens sealed arguments. */
	accept: (text: string, agentKey: Signer['key']) => Accepted | Refused;
	/** Publishes one reply on the request's reply subject (never throws: a failure is logged). */
	publish: (id: string, text: string) => void;
	runs: RelayRuns;
	results: RelayResults;
	describe: () => {tags: Record<string, string>; scripts: ScriptDescription[]};
	certificates?: RelayCertificates;
	now: () => number;
	/** How long a run's acknowledgement is held back (relay-sealer.ts's ackHoldMs by default). */
	ackHoldMs?: number;
	log: AgentLog;
	/** Logs and records an audit event (never throws). */
	audit: (event: string, fields: Record<string, unknown>) => void;
};

/** Handles one message from the request subject. */
export function handleRelayRequest(text: string, ports: RelayRequestPorts): void {
	const {signer, serial} = ports.signing();
	const agent = {name: ports.agentName, serial, signer: () => signer};
	const verdict = ports.accept(text, signer.key);
	if (!verdict.ok) {
		ports.audit('relay.refused', {source: 'relay', requestId: verdict.id ?? '-', code: verdict.code, reason: verdict.reason});
		if (verdict.code !== 'replayed' && verdict.env && verdict.hash) {
			const sealer = new ReplySealer({id: verdict.env.id, hash: verdict.hash}, agent, ports.now);
			ports.publish(verdict.env.id, sealer.seal({type: 'error', id: verdict.env.id, code: verdict.code, message: `refused: ${verdict.reason}`}));
		}

		return;
	}

	const {frame, env, hash} = verdict;
	// A run's started and output go unsigned; the sealer sends a signed copy of one the chain went quiet on, and holds the run's ack back.
	const publish = (sealed: string) => ports.publish(env.id, sealed);
	const sealer = new ReplySealer({id: env.id, hash, run: frame.type === 'run'}, agent, ports.now, {publish});
	serveFrame(frame, verdict.serial, {
		// Held back only for a controller that asks a quiet run for its status; an older one gets it at once (unsigned), as before.
		ack: env.probe === true
			? () => sealer.holdAck({type: 'ack', id: env.id, found: true}, publish, ports.ackHoldMs)
			: () => publish(sealer.seal({type: 'ack', id: env.id, found: true})),
		reply: body => publish(sealer.seal(body)),
		end: body => keepThenPublish(env.id, sealer.seal(body), ports),
	}, ports);
}

type Replies = {ack: () => void; reply: (body: ReplyBody) => void; end: (body: ReplyBody) => void};

function serveFrame(frame: RequestFrame, controllerSerial: string, replies: Replies, ports: RelayRequestPorts): void {
	const {reply} = replies;
	switch (frame.type) {
		case 'describe': {
			const {tags, scripts} = ports.describe();
			reply({type: 'description', id: frame.id, agent: {name: ports.agentName, tags}, scripts});
			return;
		}

		case 'cancel': {
			const found = ports.runs.running(frame.id);
			ports.audit('cancel', {source: 'relay', requestId: frame.id, caller: frame.caller, found});
			ports.runs.cancel(frame.id, frame.caller);
			reply({type: 'ack', id: frame.id, found});
			return;
		}

		case 'status': {
			const answer = ports.results.status(frame.id, ports.runs.running(frame.id), ports.now());
			ports.audit('relay.status', {source: 'relay', requestId: frame.id, caller: frame.caller, found: answer.found, running: answer.running, resent: answer.result !== undefined});
			reply({type: 'ack', id: frame.id, found: answer.found});
			if (answer.result) {
				ports.publish(frame.id, answer.result);
			}

			return;
		}

		case 'run': {
			ports.runs.start(frame, controllerSerial, replies);
			return;
		}

		case 'renew':
		case 'certificate':
		case 'pin':
		case 'unpair': {
			if (ports.certificates) {
				ports.certificates.handle(frame, reply);
			} else {
				reply({type: 'error', id: frame.id, code: 'forbidden', message: `${frame.type} is not available over the relay on this agent; reach it over direct TLS for it`});
			}
		}
	}
}

/** A run's terminal reply is kept (on disk) before it is published: an agent killed right after still has it for `status`. */
function keepThenPublish(id: string, text: string, ports: RelayRequestPorts): void {
	try {
		ports.results.remember(id, text, ports.now());
	} catch (error) {
		ports.log('relay.result-unkept', {requestId: id, reason: `the result could not be kept for a status question after a restart: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`});
	}

	ports.publish(id, text);
}
