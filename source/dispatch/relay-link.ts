/**
 * The controller's side of the relay: one connection to the broker per controller process, one
 * wildcard subscription to every agent's replies, and `exchange()`, which does over the broker
 * what dispatch/agent-connection.ts's exchange does over direct TLS and ends the same way
 * (terminal frame, unreachable, lost, deadline, protocol): the dispatcher does not know which one
 * carried a frame.
 *
 * Each request is a signed envelope for one agent (relay-envelope.ts); each reply is checked
 * against the registry's certificate for that agent and its chain (reply-chain.ts), and a reply
 * the agent sent unsigned (a run's first ack, started, output) is acted on only once the signed
 * reply that covers it has arrived. A cancel is a
 * second envelope of the same request id with its own reply chain; the run's result still ends
 * the exchange. A renewal's `certificate` is one too, and its answer (`renewed`) ends it. With no connection to the agent to watch, an agent acknowledges a run
 * (`ack`, unsigned: its chain is covered by the next signed reply) as soon as it accepts the
 * envelope, and "unreachable" means no answer in the request's chain within the connect timeout:
 * the agent is not connected to the broker, or the broker did not deliver. An unsigned ack is
 * not trusted for anything else: if nothing signed follows, the status question decides. Every NATS callback is guarded (one that throws would stop the connection's handling).
 *
 * A run's secret arguments (`sealArgs`) are sealed to the agent's certificate key as the
 * registry holds it (protocol/sealed-args.ts), bound to the one envelope that carries them.
 *
 * Delivery is at most once, so a reply can be lost on the way. A run that has said nothing for
 * `statusAfterMs` makes the controller ask the agent for the request's `status` (another envelope of
 * the same request id, its own reply chain): the agent answers `ack` found true (still running, or
 * ended: it then sends the run's signed result again, which must still fit the run's chain, so a
 * lost output chunk shows as a gap) or found false (it restarted or forgot: the result is lost, and
 * the exchange says so at once instead of waiting for the deadline).
 */
import {connect as natsConnect, type NatsConnection} from '@nats-io/transport-node';
import type {ResponseFrame, SignedHead} from '../protocol/frames.js';
import {certificateFacts} from '../pki/certificate-facts.js';
import {newNonce, requestEnvelope, sealEnvelope, signerFromPem, type RequestBody, type Signer} from '../protocol/relay-envelope.js';
import {sealArgs} from '../protocol/sealed-args.js';
import {relaySubjects} from '../protocol/relay-subjects.js';
import {brokerTls} from '../relay/broker-tls.js';
import {ReplyChains} from '../relay/reply-chain.js';
import {requestSequence} from '../relay/request-sequence.js';
import {exchangeEnding, terminalTypes, type ExchangeEnd, type RequestWithoutEnvelope} from './exchange-end.js';

export type RelayTarget = {name: string; serial: string; certificate: string};

export type RelayExchangeOptions = {
	connectTimeoutMs: number;
	deadlineMs: number;
	onFrame?: (frame: ResponseFrame, reply: (request: RequestWithoutEnvelope) => void, fail: (reason: string) => void) => void;
	revoked?: ReadonlySet<string>;
	cancel?: {signal: AbortSignal; caller: string; graceMs: number};
	/** Told what the relay did on the way that the run should mention (a duplicate dropped, a reply set aside, the status asked for), in words without the agent's name. */
	onNotice?: (notice: string) => void;
	/** How long a run may say nothing before the agent is asked for its status (default 15 s). */
	statusAfterMs?: number;
	/** The positions of a run's arguments that are secret: sealed to the agent's certificate key (the broker never sees them). */
	sealArgs?: readonly number[];
};

export const defaultStatusAfterMs = 15_000;

export type RelayLink = {
	exchange: (target: RelayTarget, request: RequestWithoutEnvelope, options: RelayExchangeOptions) => Promise<ExchangeEnd>;
	close: () => Promise<void>;
};

export async function openRelayLink(options: {url: string; credentials: {key: string; cert: string; ca: string}; now?: () => number; connect?: typeof natsConnect}): Promise<RelayLink> {
	const now = options.now ?? Date.now;
	const {credentials} = options;
	const signer: Signer = signerFromPem(credentials.key, credentials.cert);
	const controllerSerial: string = certificateFacts(Buffer.from(credentials.cert))?.serial ?? '';
	const fleet: string = certificateFacts(Buffer.from(credentials.ca))?.publicKeySha256 ?? '';
	if (!controllerSerial || !fleet) {
		throw new Error('the controller certificate or the CA certificate cannot be read');
	}

	const connection: NatsConnection = await (options.connect ?? natsConnect)({
		servers: options.url,
		name: 'xi-exec controller',
		tls: brokerTls(credentials),
		// A controller process is short-lived: a broker that is down is reported, not waited for.
		reconnect: false,
		timeout: 10_000,
	});
	const handlers = new Map<string, (text: string) => void>();
	const nextSequence = requestSequence(now);
	const decoder = new TextDecoder();
	connection.subscribe(relaySubjects.allReplies, {
		callback(error, message) {
			try {
				if (!error) {
					handlers.get(message.subject)?.(decoder.decode(message.data));
				}
			} catch {
				// A handler's failure ends its own exchange (it catches); nothing may stop this subscription.
			}
		},
	});
	await connection.flush();

	function exchange(target: RelayTarget, request: RequestWithoutEnvelope, exchangeOptions: RelayExchangeOptions): Promise<ExchangeEnd> {
		return new Promise(resolve => {
			const subject = relaySubjects.reply(target.name, request.id);
			if (handlers.has(subject)) {
				resolve({kind: 'protocol', reason: `request ${request.id} is already in progress on agent ${target.name}`});
				return;
			}

			const chains = new ReplyChains(request.id, {name: target.name, serial: target.serial, certificate: target.certificate, ...(exchangeOptions.revoked ? {revoked: exchangeOptions.revoked} : {})});
			let answered = false;
			/** What each request envelope of this exchange carried, by its hash: a cancel's replies are news, any other's are the exchange's. */
			const sent = new Map<string, RequestWithoutEnvelope['type']>();
			const statusChains = new Set<string>();
			let silence: NodeJS.Timeout | undefined;
			const ending = exchangeEnding(resolve, () => {
				clearTimeout(silence);
				handlers.delete(subject);
			});
			const {finish} = ending;
			const notice = (text: string) => exchangeOptions.onNotice?.(text);

			const send = (next: RequestWithoutEnvelope, role?: 'status'): boolean => {
				const {id, ...rest} = next;
				const head = 'controllerHead' in rest ? (rest as {controllerHead?: SignedHead}).controllerHead : undefined;
				const body = {...rest} as RequestBody & {controllerHead?: SignedHead};
				delete body.controllerHead;
				const nonce = newNonce();
				const secret = body.type === 'run' && exchangeOptions.sealArgs ? sealArgs(body.args, exchangeOptions.sealArgs, target.certificate, {id, agent: target.name, nonce}) : undefined;
				if (secret?.sealed && body.type === 'run') {
					body.args = secret.args;
				}

				const env = requestEnvelope({id, seq: nextSequence(), agent: target.name, fleet, serial: controllerSerial, iat: now(), nonce, ...(head ? {head} : {}), ...(secret?.sealed ? {sealed: secret.sealed} : {}), body});
				const {text, hash} = sealEnvelope(env, signer);
				chains.expect(hash);
				sent.set(hash, next.type);
				if (role === 'status') {
					statusChains.add(hash);
				}

				try {
					connection.publish(relaySubjects.requests(target.name), text);
					return true;
				} catch (error) {
					finish({kind: answered ? 'lost' : 'unreachable', reason: `the broker connection failed: ${(error as Error).message}`});
					return false;
				}
			};

			// A run that has gone quiet: ask for its status, then again after twice as long (up to 5 min), until it ends.
			const statusAfterMs = exchangeOptions.statusAfterMs ?? defaultStatusAfterMs;
			const caller = 'caller' in request ? request.caller : 'xi-exec';
			const quiet = (afterMs = statusAfterMs) => {
				clearTimeout(silence);
				if (request.type === 'run' && !ending.settled) {
					silence = setTimeout(() => {
						if (send({type: 'status', id: request.id, caller}, 'status')) {
							quiet(Math.min(2 * afterMs, 300_000));
						}
					}, afterMs);
				}
			};

			const onAbort = () => {
				send({type: 'cancel', id: request.id, caller: exchangeOptions.cancel!.caller});
				ending.after(exchangeOptions.cancel!.graceMs, () => {
					finish({kind: 'lost', reason: 'the agent did not confirm the cancel over the relay'});
				});
			};

			/** The agent answered: from now on the deadline, not the connect timeout, bounds the exchange. */
			const heard = () => {
				if (!answered) {
					answered = true;
					ending.after(exchangeOptions.deadlineMs, () => finish({kind: 'deadline'}));
				}
			};

			const onFrame = (frame: ResponseFrame, chain: string) => {
				heard();

				if (statusChains.has(chain)) {
					if (frame.type === 'ack' && !frame.found) {
						finish({kind: 'lost', reason: `agent ${target.name} has no record of request ${request.id} (it restarted, or forgot it): its result is lost`});
					} else {
						notice(frame.type === 'ack' ? 'the run went quiet: the controller asked the agent for its status, and the agent knows the request' : `the run went quiet: the controller asked the agent for its status, and it answered ${frame.type}${frame.type === 'error' ? `: ${frame.message}` : ''}`);
					}

					return;
				}

				if (sent.get(chain) === 'cancel' && request.type !== 'cancel') {
					// A cancel's own chain: its ack (or refusal) is news; the run's result still ends the exchange.
					notice(frame.type === 'ack' ? `cancel ${frame.found ? 'delivered' : 'found no run'}` : `cancel answered ${frame.type}${frame.type === 'error' ? `: ${frame.message}` : ''}`);
					return;
				}

				quiet();
				// Over the relay a run is first acknowledged: the agent accepted it and will answer it.
				if (frame.type === 'ack' && request.type === 'run') {
					return;
				}

				if (terminalTypes.has(frame.type)) {
					if (statusChains.size > 0) {
						notice(`the ${frame.type} came after the controller asked for the status: the agent sent it again (lost or late on the broker)`);
					}

					finish({kind: 'terminal', frame});
					return;
				}

				exchangeOptions.onFrame?.(frame, next => send(next), reason => finish({kind: 'protocol', reason}));
			};

			handlers.set(subject, text => {
				const verdict = chains.accept(text);
				switch (verdict.kind) {
					case 'duplicate': {
						notice('the broker delivered a reply twice: the copy was dropped');
						return;
					}

					case 'unrelated': {
						notice(`set aside: ${verdict.reason}`);
						return;
					}

					case 'refused': {
						finish({kind: 'protocol', reason: `over the relay: ${verdict.reason}`});
						return;
					}

					case 'pending': {
						// In its place in the run's chain, not yet covered by a signature: the run is not quiet, and
						// not unreachable either (its first ack is unsigned: a result lost after it is asked for with
						// a status question, whose signed answer decides). Nothing else is known yet.
						if (!statusChains.has(verdict.chain) && sent.get(verdict.chain) !== 'cancel') {
							heard();
							quiet();
						}

						return;
					}

					case 'frames': {
						for (const frame of verdict.frames) {
							if (ending.settled) {
								return;
							}

							onFrame(frame, verdict.chain);
						}
					}
				}
			});

			ending.after(exchangeOptions.connectTimeoutMs, () => {
				if (!answered) {
					finish({kind: 'unreachable', reason: `no signed answer from agent ${target.name} over the relay within ${exchangeOptions.connectTimeoutMs / 1000} s (is it connected to the broker?)`});
				}
			});
			ending.onAbort(exchangeOptions.cancel?.signal, onAbort);
			if (send(request) && exchangeOptions.cancel?.signal.aborted) {
				onAbort();
			}
		});
	}

	return {
		exchange,
		async close() {
			await connection.drain().catch(() => undefined);
		},
	};
}
