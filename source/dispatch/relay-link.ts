/**
 * The controller's side of the relay, its IO shell: one connection to the broker per controller
 * process, one wildcard subscription to every agent's replies routed by subject to the exchange
 * waiting on it, and `exchange()`, which does over the broker what tls-link.ts does over direct
 * TLS and ends the same way: the dispatcher does not know which one carried a frame. What an
 * exchange decides (which replies count, when to ask for the status, how it ends) is the state
 * machine in relay-exchange.ts; how each request envelope is signed is relay-request-sealer.ts.
 *
 * Delivery is at most once, so a reply can be lost on the way: relay-exchange.ts says how a run
 * that went quiet is asked for its status. Every NATS callback is guarded (one that throws would
 * stop the connection's handling).
 */
import {connect as natsConnect, type NatsConnection} from '@nats-io/transport-node';
import {relaySubjects} from '../protocol/relay-subjects.js';
import {brokerTls} from '../relay/broker-tls.js';
import type {ExchangeEnd, RequestWithoutEnvelope} from './exchange-end.js';
import {afterOwnTime} from './loop-stalls.js';
import {RelayExchange, type ExchangeTimer, type RelayExchangeOptions, type RelayExchangePorts, type RelayTarget} from './relay-exchange.js';
import {controllerSigning, requestSealer, type ControllerSigning} from './relay-request-sealer.js';

export {defaultStatusAfterMs, type RelayExchangeOptions, type RelayTarget} from './relay-exchange.js';

export type RelayLink = {
	exchange: (target: RelayTarget, request: RequestWithoutEnvelope, options: RelayExchangeOptions) => Promise<ExchangeEnd>;
	close: () => Promise<void>;
};

export async function openRelayLink(options: {url: string; credentials: {key: string; cert: string; ca: string}; now?: () => number; connect?: typeof natsConnect}): Promise<RelayLink> {
	const signing = controllerSigning(options.credentials, options.now ?? Date.now);
	const connection: NatsConnection = await (options.connect ?? natsConnect)({
		servers: options.url,
		name: 'xi-exec controller',
		tls: brokerTls(options.credentials),
		// A controller process is short-lived: a broker that is down is reported, not waited for.
		reconnect: false,
		timeout: 10_000,
	});
	const routes = replyRoutes(connection);
	const publish = batchedPublisher(connection);
	await connection.flush();
	return {
		exchange: (target, request, exchangeOptions) => exchange(publish, routes, signing, {target, request, options: exchangeOptions}),
		async close() {
			await connection.drain().catch(() => undefined);
		},
	};
}

type Routes = Map<string, (text: string) => void>;

/** Every agent's replies, each handed to the exchange waiting on its subject (the others are dropped). */
function replyRoutes(connection: NatsConnection): Routes {
	const routes: Routes = new Map();
	const decoder = new TextDecoder();
	connection.subscribe(relaySubjects.allReplies, {
		callback(error, message) {
			try {
				if (!error) {
					routes.get(message.subject)?.(decoder.decode(message.data));
				}
			} catch {
				// A handler's failure ends its own exchange (it catches); nothing may stop this subscription.
			}
		},
	});
	return routes;
}

/** Publishes `text` on `subject` later in this loop turn; `failed` hears why when the broker connection refuses it. */
type Publisher = (subject: string, text: string, failed: (error: Error) => void) => void;

/**
 * The envelopes every exchange publishes in one loop turn, handed to the client together after
 * it: the client writes what is published in one synchronous stretch as one socket write, while
 * exchanges started from separate promise chains each cost a TLS write of their own (about a
 * fifth of the controller's CPU per agent at 1,000, measured with bench/profile-relay.ts). Order
 * is kept (a status question still follows its run).
 */
function batchedPublisher(connection: NatsConnection): Publisher {
	let queued: Array<{subject: string; text: string; failed: (error: Error) => void}> = [];
	const send = () => {
		const sending = queued;
		queued = [];
		for (const {subject, text, failed} of sending) {
			try {
				connection.publish(subject, text);
			} catch (error) {
				failed(error as Error);
			}
		}
	};

	return (subject, text, failed) => {
		if (queued.length === 0) {
			setImmediate(send);
		}

		queued.push({subject, text, failed});
	};
}

type Exchange = {target: RelayTarget; request: RequestWithoutEnvelope; options: RelayExchangeOptions};

function exchange(publish: Publisher, routes: Routes, signing: ControllerSigning, {target, request, options}: Exchange): Promise<ExchangeEnd> {
	return new Promise(resolve => {
		const subject = relaySubjects.reply(target.name, request.id);
		if (routes.has(subject)) {
			resolve({kind: 'protocol', reason: `request ${request.id} is already in progress on agent ${target.name}`});
			return;
		}

		const signal = options.cancel?.signal;
		const onAbort = () => machine.cancel();
		const machine = new RelayExchange(target, request, options, {
			seal: requestSealer(signing, target, options.sealArgs),
			publish: text => publish(relaySubjects.requests(target.name), text, error => machine.publishFailed(error)),
			timers: namedTimers(),
			end(end) {
				routes.delete(subject);
				signal?.removeEventListener('abort', onAbort);
				resolve(end);
			},
		});
		routes.set(subject, text => machine.receive(text));
		signal?.addEventListener('abort', onAbort, {once: true});
		if (machine.start() && signal?.aborted) {
			machine.cancel();
		}
	});
}

/**
 * The exchange's timers. `connect` and `probe` (the status question to a run not heard from) count
 * the event loop's own time (loop-stalls.ts), as the direct link's connect timeout does: a
 * controller too busy to read the replies already waiting on its broker connection (hundreds of
 * exchanges' messages, a starved CPU) does not call their agents unreachable, nor ask them all
 * for their status. The others (deadline, status, cancel) count wall time.
 */
function namedTimers(): RelayExchangePorts['timers'] {
	const timers = new Map<ExchangeTimer, NodeJS.Timeout>();
	const watching = new Map<ExchangeTimer, () => void>();
	const arm = (name: ExchangeTimer, ms: number, fire: () => void) => {
		clearTimeout(timers.get(name));
		timers.set(name, setTimeout(fire, ms));
	};

	return {
		set(name, ms, fire) {
			if (name === 'connect' || name === 'probe') {
				watching.get(name)?.();
				watching.set(name, afterOwnTime(ms, (left, then) => arm(name, left, then), fire));
			} else {
				arm(name, ms, fire);
			}
		},
		clearAll() {
			for (const stop of watching.values()) {
				stop();
			}

			for (const timer of timers.values()) {
				clearTimeout(timer);
			}

			watching.clear();
			timers.clear();
		},
	};
}
