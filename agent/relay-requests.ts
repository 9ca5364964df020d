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
 *   (a controller from before the held ack waits for the ack); its terminal reply is kept before it
 *   is published, so that even an agent killed right after sending it answers the controller's
 *   `status` with it once it is back: by the audit record that ended the run, which names the
 *   result's place in the chain (relay-end-records.ts), else in `results`' file (relay-start.ts);
 * - `cancel`: aborts the run of that id, and says whether there was one;
 * - `status`: whether the request is known, and the run's kept result sent again verbatim (after a
 *   restart, sealed again from its end record);
 * - `renew`, `certificate`, `pin`, `unpair`: relay-certificates.ts when the agent has it.
 */
import type {RequestFrame, ScriptDescription, SignedHead} from '../source/protocol/frames.js';
import type {ReplyBody, Signer} from '../source/protocol/relay-envelope.js';
import type {AgentLog} from './execute-run.js';
import type {Accepted, Refused} from './relay-accept.js';
import type {RelayCertificates} from './relay-certificates.js';
import {resultOfRecord, RunEndRecords, type EndRecord} from './relay-end-records.js';
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
	/** A run's end record from before a restart, by request id (relay-end-records.ts): its result is sealed again from it. */
	endRecord?: (id: string) => EndRecord | undefined;
	/** The agent audit log's signed head now (a result sealed again carries it). */
	signedHead?: () => SignedHead | undefined;
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
	const records = frame.type === 'run' ? new RunEndRecords(() => ({req: hash, ...sealer.next()}), () => sealer.dropHeldAck()) : undefined;
	serveFrame(frame, verdict.serial, {
		// Held back only for a controller that asks a quiet run for its status; an older one gets it at once (unsigned), as before.
		ack: env.probe === true
			? () => sealer.holdAck({type: 'ack', id: env.id, found: true}, publish, ports.ackHoldMs)
			: () => publish(sealer.seal({type: 'ack', id: env.id, found: true})),
		reply: body => publish(sealer.seal(body)),
		end(body) {
			const place = {req: hash, ...sealer.next()};
			keepThenPublish(env.id, sealer.seal(body), records?.covers(body, place) === true, ports);
		},
		...(records ? {records} : {}),
	}, ports);
}

type Replies = {ack: () => void; reply: (body: ReplyBody) => void; end: (body: ReplyBody) => void; records?: RunEndRecords};

function serveFrame(frame: RequestFrame, controllerSerial: string, replies: Replies, ports: RelayRequestPorts): void {
	const {reply} = replies;
	switch (frame.type) {
		case 'describe': {
			const {tags, scripts} = ports.describe();
			// checksEntry: a run over the relay goes through the same boundary (decide-run.ts), which refuses a planned entry digest that is not the entry's.
			reply({type: 'description', id: frame.id, agent: {name: ports.agentName, tags}, scripts, checksEntry: true});
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
			const kept = ports.results.status(frame.id, ports.runs.running(frame.id), ports.now());
			const resealed = kept.found ? undefined : sealAgain(frame.id, ports);
			const answer = resealed ? {found: true, running: false, result: resealed} : kept;
			ports.audit('relay.status', {source: 'relay', requestId: frame.id, caller: frame.caller, found: answer.found, running: answer.running, resent: answer.result !== undefined, ...(resealed ? {resealed: true} : {})});
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

/**
 * A run's terminal reply is kept before it is published, so that an agent killed right after still
 * answers `status` with it: by its end record in the audit log when that record `covered` it
 * (relay-end-records.ts), else appended to the results file and fsynced.
 */
function keepThenPublish(id: string, text: string, covered: boolean, ports: RelayRequestPorts): void {
	if (covered) {
		ports.results.keep(id, text, ports.now());
	} else {
		try {
			ports.results.remember(id, text, ports.now());
		} catch (error) {
			ports.log('relay.result-unkept', {requestId: id, reason: `the result could not be kept for a status question after a restart: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`});
		}
	}

	ports.publish(id, text);
}

/** The result of a run that ended before a restart, sealed again from its end record in the place it took in the run's chain; kept from then on. */
function sealAgain(id: string, ports: RelayRequestPorts): string | undefined {
	const record = ports.endRecord?.(id);
	const result = record && resultOfRecord(record.event, record.fields);
	if (!record || !result) {
		return undefined;
	}

	const {signer, serial} = ports.signing();
	const sealer = new ReplySealer({id, hash: record.place.req}, {name: ports.agentName, serial, signer: () => signer}, ports.now);
	sealer.resumeAt(record.place);
	const head = ports.signedHead?.();
	const text = sealer.seal({...result, ...(head ? {agentHead: head} : {})});
	ports.results.keep(id, text, ports.now());
	return text;
}
