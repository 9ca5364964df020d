/**
 * The agent's side of the relay, composed: the broker connection (relay-broker.ts: dials out, so
 * it works behind NAT; its own request subject only; the presence heartbeat), the acceptance
 * checks (relay-accept.ts), and what an accepted request does (relay-requests.ts, the runs in
 * relay-runs.ts going through the same path as over direct TLS: boundary, hook, slot, script).
 * A run's signed result is kept for the freshness window (relay-results.ts) and sent again when
 * the controller asks for the request's `status`, having lost it on the broker.
 */
import type {connect as natsConnect} from '@nats-io/transport-node';
import {certificateFacts} from '../source/pki/certificate-facts.js';
import type {ScriptDescription} from '../source/protocol/frames.js';
import {pemToDer, signerFromPem} from '../source/protocol/relay-envelope.js';
import {secretArgsOf} from '../source/protocol/secret-args.js';
import type {AgentCredentials} from './credentials.js';
import {executeRun, type AgentLog, type AgentRecorder, type RunContext} from './execute-run.js';
import type {Pins} from './pins.js';
import {stopReasons} from './stop-reasons.js';
import {acceptRequest} from './relay-accept.js';
import {connectBroker} from './relay-broker.js';
import type {RequestGuard} from './relay-guard.js';
import {handleRelayRequest, type AgentSigning, type RelayRequestPorts} from './relay-requests.js';
import {RelayResults} from './relay-results.js';
import type {EndRecord} from './relay-end-records.js';
import {RelayRuns} from './relay-runs.js';
import type {RelayCertificates} from './relay-certificates.js';

export type RelayAgentOptions = {
	/** The broker: nats://HOST:PORT (TLS is required by the broker and always used). */
	url: string;
	agentName: string;
	credentials: () => AgentCredentials;
	pins: () => Pins;
	guard: RequestGuard;
	/** What a run needs, as the direct-TLS server builds it; the relay adds the peer. */
	runContext: () => Omit<RunContext, 'peer'>;
	describe: () => {tags: Record<string, string>; scripts: ScriptDescription[]};
	log: AgentLog;
	recorder: AgentRecorder;
	/** Renew, certificate, pin and unpair over the relay (relay-certificates.ts); refused without it. */
	certificates?: RelayCertificates;
	now: () => number;
	connect?: typeof natsConnect;
	/** Where ended runs' results are kept for `status` (by default for the guard's whole memory: twice its window). */
	results?: RelayResults;
	/** A run's end record from before a restart (relay-end-records.ts), by request id: a `status` question not answered from `results` is answered from it. */
	endRecord?: (id: string) => EndRecord | undefined;
	/** How often the signed presence heartbeat goes out (default 30 s; one goes out at once on connecting). */
	presenceIntervalMs?: number;
};

export type RelayAgent = {
	/** Resolves once connected to the broker the first time. */
	connected: Promise<void>;
	/** Cancels relay runs, waits for them to end, closes the connection. */
	close: () => Promise<void>;
};

export function startRelayAgent(options: RelayAgentOptions): RelayAgent {
	const {agentName, log} = options;
	const signing = signingWith(options.credentials);
	const caDerOf = lastDer();
	const runs = new RelayRuns((frame, serial, send, signal, records) => {
		const context = options.runContext();
		// The records that may end the run name its result's place in the chain: the audit log keeps the result (relay-end-records.ts).
		const recorder = records && context.recorder ? {recorder: records.wrap(context.recorder)} : {};
		return executeRun(frame, {...context, ...recorder, peer: {address: 'relay', serial}}, send, signal);
	}, log);
	const ports: RelayRequestPorts = {
		agentName,
		signing,
		accept: (text, agentKey) => acceptRequest(text, {
			agentName,
			pins: options.pins(),
			caDer: caDerOf(options.credentials().ca),
			guard: options.guard,
			agentKey,
			secretArgs: script => secretArgsOf(options.runContext().allowlist.get(script)?.entry.args),
			now: options.now(),
		}),
		publish: (id, text) => broker.publish(id, text),
		runs,
		results: options.results ?? new RelayResults(2 * options.guard.windowMs),
		...(options.endRecord ? {endRecord: options.endRecord} : {}),
		signedHead: () => options.recorder.signedHead(),
		describe: options.describe,
		...(options.certificates ? {certificates: options.certificates} : {}),
		now: options.now,
		log,
		audit(event, fields) {
			log(event, fields);
			void options.recorder.record(event, fields).catch(() => undefined);
		},
	};
	const broker = connectBroker({
		url: options.url,
		agentName,
		credentials: options.credentials,
		log,
		onRequest: text => handleRelayRequest(text, ports),
		presence: {signing, now: options.now, ...(options.presenceIntervalMs === undefined ? {} : {intervalMs: options.presenceIntervalMs})},
		...(options.connect ? {connect: options.connect} : {}),
	});
	return {
		connected: broker.connected,
		close: async () => broker.close(async () => runs.stop(stopReasons.agentStopping)),
	};
}

/** The CA certificate's DER, decoded again only when its PEM text changes (not on every request). */
function lastDer(): (pem: string) => Buffer {
	let last: {pem: string; der: Buffer} | undefined;
	return pem => {
		if (last?.pem !== pem) {
			last = {pem, der: pemToDer(pem)};
		}

		return last.der;
	};
}

/** The agent's signer and serial, made again only when its key changes (a renewal). */
function signingWith(credentials: () => AgentCredentials): () => AgentSigning {
	let current: AgentSigning & {key: string} | undefined;
	return () => {
		const {key, cert} = credentials();
		if (current?.key !== key) {
			current = {key, signer: signerFromPem(key), serial: certificateFacts(Buffer.from(cert))?.serial ?? ''};
		}

		return current;
	};
}
