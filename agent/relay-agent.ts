/**
 * The agent's side of the relay: it dials out to the broker with its own certificate (so it
 * works behind NAT), subscribes to its own request subject only, and hands each message to the
 * acceptance checks (relay-accept.ts). An accepted request goes through the same path as over
 * direct TLS (executeRun: boundary, hook, slot, script); every reply is chained and the ones that
 * decide something are signed (relay-sealer.ts). A refusal is logged and audited, and answered with a signed error, except a
 * replay: the original is being (or was) answered already. Every NATS callback is guarded: one
 * that throws would stop that connection's message handling. A run's signed result is kept for the
 * freshness window (relay-results.ts) and sent again when the controller asks for the request's
 * `status`, having lost it on the broker. While connected it says it is there: a signed presence
 * heartbeat on its own presence subject (relay-presence.ts). A run's terminal reply is kept
 * before it is published (on disk when started by relay-start.ts), so that even an agent killed
 * right after sending it answers the controller's `status` with it once it is back.
 */
import {connect as natsConnect, type NatsConnection} from '@nats-io/transport-node';
import {certificateFacts} from '../source/pki/certificate-facts.js';
import type {RequestFrame, ScriptDescription} from '../source/protocol/frames.js';
import {pemToDer, signerFromPem, type ReplyBody, type Signer} from '../source/protocol/relay-envelope.js';
import {relaySubjects} from '../source/protocol/relay-subjects.js';
import {secretArgsOf} from '../source/protocol/secret-args.js';
import {brokerTls} from '../source/relay/broker-tls.js';
import type {AgentCredentials} from './credentials.js';
import {executeRun, type AgentLog, type AgentRecorder, type RunContext} from './execute-run.js';
import type {Pins} from './pins.js';
import {stopReasons} from './stop-reasons.js';
import {acceptRequest} from './relay-accept.js';
import {ReplySealer} from './relay-sealer.js';
import {startPresence} from './relay-presence.js';
import type {RequestGuard} from './relay-guard.js';
import {RelayResults} from './relay-results.js';
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
	const activeRuns = new Map<string, AbortController>();
	const runsDone = new Set<Promise<void>>();
	const results = options.results ?? new RelayResults(2 * options.guard.windowMs);
	let connection: NatsConnection | undefined;
	let stopPresence: (() => void) | undefined;
	let closing = false;
	const decoder = new TextDecoder();

	let signerFor: {key: string; signer: Signer; serial: string} | undefined;
	const signing = () => {
		const {key, cert} = options.credentials();
		if (signerFor?.key !== key) {
			signerFor = {key, signer: signerFromPem(key), serial: certificateFacts(Buffer.from(cert))?.serial ?? ''};
		}

		return signerFor;
	};

	const audit = (event: string, fields: Record<string, unknown>) => {
		log(event, fields);
		void options.recorder.record(event, fields).catch(() => undefined);
	};

	const connected = (async () => {
		const credentials = options.credentials();
		const connect = options.connect ?? natsConnect;
		connection = await connect({
			servers: options.url,
			name: `xi-exec-agent ${agentName}`,
			waitOnFirstConnect: true,
			reconnect: true,
			maxReconnectAttempts: -1,
			tls: brokerTls(credentials),
		});
		if (closing) {
			await connection.close();
			return;
		}

		connection.subscribe(relaySubjects.requests(agentName), {
			callback(error, message) {
				try {
					if (error) {
						log('relay.error', {reason: error.message});
						return;
					}

					handle(decoder.decode(message.data));
				} catch (caught) {
					log('relay.error', {reason: `a request was dropped: ${(caught as Error).message}`});
				}
			},
		});
		void watchStatus(connection);
		// One round trip to the broker: once it answers, it holds the subscription, so "connected"
		// means a request published from now on reaches this agent.
		await connection.flush();
		log('relay.connected', {broker: options.url, subject: relaySubjects.requests(agentName)});
		const nc = connection;
		stopPresence = startPresence({
			agentName,
			signing,
			publish: text => nc.publish(relaySubjects.presence(agentName), text),
			now: options.now,
			log,
			...(options.presenceIntervalMs === undefined ? {} : {intervalMs: options.presenceIntervalMs}),
		});
	})();
	connected.catch((error: unknown) => {
		log('relay.error', {broker: options.url, reason: `cannot connect: ${(error as Error).message}`});
	});

	async function watchStatus(nc: NatsConnection): Promise<void> {
		try {
			for await (const status of nc.status()) {
				const detail = 'error' in status && status.error instanceof Error ? status.error.message : undefined;
				log(`relay.${status.type}`, {broker: options.url, ...(detail ? {reason: detail} : {})});
			}
		} catch (error) {
			log('relay.error', {reason: (error as Error).message});
		}
	}

	function publish(id: string, text: string): string {
		try {
			connection?.publish(relaySubjects.reply(agentName, id), text);
		} catch (error) {
			log('relay.error', {requestId: id, reason: `a reply was not sent: ${(error as Error).message}`});
		}

		return text;
	}

	function handle(text: string): void {
		const {signer, serial} = signing();
		const verdict = acceptRequest(text, {
			agentName,
			pins: options.pins(),
			caDer: pemToDer(options.credentials().ca),
			guard: options.guard,
			agentKey: signer.key,
			secretArgs: script => secretArgsOf(options.runContext().allowlist.get(script)?.entry.args),
			now: options.now(),
		});
		if (!verdict.ok) {
			audit('relay.refused', {source: 'relay', requestId: verdict.id ?? '-', code: verdict.code, reason: verdict.reason});
			if (verdict.code !== 'replayed' && verdict.env && verdict.hash) {
				const sealer = new ReplySealer({id: verdict.env.id, hash: verdict.hash}, {name: agentName, serial, signer: () => signer}, options.now);
				publish(verdict.env.id, sealer.seal({type: 'error', id: verdict.env.id, code: verdict.code, message: `refused: ${verdict.reason}`}));
			}

			return;
		}

		const {frame, env, hash} = verdict;
		// Signed with the key the request found: a renewal it causes installs a new one, but the
		// controller checks this exchange's replies against the certificate it started with.
		// A run's ack, started and output go unsigned; the sealer sends a signed copy of one the chain went quiet on.
		const sealer = new ReplySealer({id: env.id, hash, run: frame.type === 'run'}, {name: agentName, serial, signer: () => signer}, options.now, {publish: text => publish(env.id, text)});
		const reply = (body: ReplyBody) => publish(env.id, sealer.seal(body));
		serve(frame, verdict.serial, reply, body => keepThenPublish(env.id, sealer.seal(body)));
	}

	/** A run's terminal reply is kept (on disk) before it is published: an agent killed right after still has it for `status`. */
	function keepThenPublish(id: string, text: string): void {
		try {
			results.remember(id, text, options.now());
		} catch (error) {
			log('relay.result-unkept', {requestId: id, reason: `the result could not be kept for a status question after a restart: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`});
		}

		publish(id, text);
	}

	function serve(frame: RequestFrame, controllerSerial: string, reply: (body: ReplyBody) => string, end: (body: ReplyBody) => void): void {
		switch (frame.type) {
			case 'describe': {
				const {tags, scripts} = options.describe();
				reply({type: 'description', id: frame.id, agent: {name: agentName, tags}, scripts});
				return;
			}

			case 'cancel': {
				const target = activeRuns.get(frame.id);
				audit('cancel', {source: 'relay', requestId: frame.id, caller: frame.caller, found: target !== undefined});
				target?.abort(frame.caller);
				reply({type: 'ack', id: frame.id, found: target !== undefined});
				return;
			}

			case 'status': {
				const answer = results.status(frame.id, activeRuns.has(frame.id), options.now());
				audit('relay.status', {source: 'relay', requestId: frame.id, caller: frame.caller, found: answer.found, running: answer.running, resent: answer.result !== undefined});
				reply({type: 'ack', id: frame.id, found: answer.found});
				if (answer.result) {
					publish(frame.id, answer.result);
				}

				return;
			}

			case 'run': {
				if (activeRuns.has(frame.id)) {
					reply({type: 'error', id: frame.id, code: 'malformed', message: `a run with request id ${frame.id} is already in progress`});
					return;
				}

				// There is no connection whose opening tells the controller this agent is there: say so at once.
				reply({type: 'ack', id: frame.id, found: true});
				const controller = new AbortController();
				activeRuns.set(frame.id, controller);
				const send = (line: string) => {
					const {v: _version, ...body} = JSON.parse(line) as ReplyBody & {v: number};
					if (body.type === 'result' || body.type === 'error') {
						end(body as ReplyBody);
					} else {
						reply(body as ReplyBody);
					}
				};

				const done = executeRun(frame, {...options.runContext(), peer: {address: 'relay', serial: controllerSerial}}, send, controller.signal)
					.catch((error: unknown) => {
						log('run.error', {requestId: frame.id, reason: (error as Error).message});
						end({type: 'error', id: frame.id, code: 'internal', message: 'internal error while running the script'});
					})
					.finally(() => {
						activeRuns.delete(frame.id);
						runsDone.delete(done);
					});
				runsDone.add(done);
				return;
			}

			case 'renew':
			case 'certificate':
			case 'pin':
			case 'unpair': {
				if (options.certificates) {
					options.certificates.handle(frame, reply);
				} else {
					reply({type: 'error', id: frame.id, code: 'forbidden', message: `${frame.type} is not available over the relay on this agent; reach it over direct TLS for it`});
				}
			}
		}
	}

	return {
		connected,
		async close() {
			closing = true;
			stopPresence?.();
			for (const controller of activeRuns.values()) {
				controller.abort(stopReasons.agentStopping);
			}

			await Promise.allSettled([...runsDone]);
			await connection?.drain().catch(() => undefined);
		},
	};
}
