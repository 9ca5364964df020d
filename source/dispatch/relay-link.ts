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
import {ownNow, watchStalls} from './loop-stalls.js';
import {RelayExchange, type ExchangeTimer, type RelayExchangeOptions, type RelayTarget} from './relay-exchange.js';
import {controllerSigning, sealRequest, type ControllerSigning} from './relay-request-sealer.js';

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
	const link: Link = {routes: replyRoutes(connection), publish: batchedPublisher(connection), signing};
	await connection.flush();
	return {
		exchange: (target, request, exchangeOptions) => exchange(link, target, request, exchangeOptions),
		async close() {
			await connection.drain().catch(() => undefined);
		},
	};
}

/** The exchanges waiting, by the subject of their replies. */
type Routes = Map<string, RelayExchange>;

/** What every exchange of one link shares. */
type Link = {routes: Routes; publish: Publisher; signing: ControllerSigning};

/** Every agent's replies, each handed to the exchange waiting on its subject (the others are dropped). */
function replyRoutes(connection: NatsConnection): Routes {
	const routes: Routes = new Map();
	const decoder = new TextDecoder();
	connection.subscribe(relaySubjects.allReplies, {
		callback(error, message) {
			try {
				if (!error) {
					routes.get(message.subject)?.receive(decoder.decode(message.data), message.data);
				}
			} catch {
				// A handler's failure ends its own exchange (it catches); nothing may stop this subscription.
			}
		},
	});
	return routes;
}

/** Publishes `text` on `subject` later in this loop turn; the exchange hears (publishFailed) why when the broker connection refuses it. */
type Publisher = (subject: string, text: string, exchange: RelayExchange) => void;

/**
 * The envelopes every exchange publishes in one loop turn, handed to the client together after
 * it: the client writes what is published in one synchronous stretch as one socket write, while
 * exchanges started from separate promise chains each cost a TLS write of their own (about a
 * fifth of the controller's CPU per agent at 1,000, measured with bench/profile-relay.ts). Order
 * is kept (a status question still follows its run).
 */
function batchedPublisher(connection: NatsConnection): Publisher {
	/** Subject, text, exchange: three entries per envelope. */
	let queued: Array<string | RelayExchange> = [];
	const send = () => {
		const sending = queued;
		queued = [];
		for (let index = 0; index < sending.length; index += 3) {
			try {
				connection.publish(sending[index] as string, sending[index + 1] as string);
			} catch (error) {
				(sending[index + 2] as RelayExchange).publishFailed(error as Error);
			}
		}
	};

	return (subject, text, exchange) => {
		if (queued.length === 0) {
			setImmediate(send);
		}

		queued.push(subject, text, exchange);
	};
}

function exchange(link: Link, target: RelayTarget, request: RequestWithoutEnvelope, options: RelayExchangeOptions): Promise<ExchangeEnd> {
	const subject = relaySubjects.reply(target.name, request.id);
	if (link.routes.has(subject)) {
		return Promise.resolve({kind: 'protocol', reason: `request ${request.id} is already in progress on agent ${target.name}`});
	}

	return new Promise(resolve => {
		new LinkExchange(link, subject, target, request, options, resolve).open();
	});
}

/**
 * One exchange on the link, as one object: the state machine (relay-exchange.ts) with its reply
 * route, its listener on the caller's cancel (itself: `handleEvent`), its timers and its end.
 * `connect` and `probe` (the status question to a run not heard from) count the event loop's own
 * time (loop-stalls.ts), as the direct link's connect timeout does: a controller too busy to read
 * the replies already waiting on its broker connection (hundreds of exchanges' messages, a starved
 * CPU) does not call their agents unreachable, nor ask them all for their status. The others
 * (deadline, status, cancel) count wall time.
 */
class LinkExchange extends RelayExchange {
	readonly #timers: Record<ExchangeTimer, NodeJS.Timeout | undefined> = {connect: undefined, probe: undefined, deadline: undefined, status: undefined, cancel: undefined};
	/** When `connect` and `probe` are due, in the loop's own time (ownNow). */
	#connectDue = 0;
	#probeDue = 0;
	/** Stops counting the loop's stalls for this exchange (while an own-time timer is armed). */
	#stopWatching: (() => void) | undefined;

	constructor(private readonly link: Link, private readonly subject: string, target: RelayTarget, request: RequestWithoutEnvelope, options: RelayExchangeOptions, private readonly resolve: (end: ExchangeEnd) => void) {
		super(target, request, options);
	}

	open(): void {
		const signal = this.options.cancel?.signal;
		this.link.routes.set(this.subject, this);
		signal?.addEventListener('abort', this, {once: true});
		if (this.start() && signal?.aborted) {
			this.cancel();
		}
	}

	/** The caller's cancel signal aborted (this object is its listener). */
	handleEvent(): void {
		this.cancel();
	}

	protected seal(request: RequestWithoutEnvelope): {text: string; hash: string} {
		return sealRequest(this.link.signing, this.target, this.options.sealArgs, request);
	}

	protected publish(text: string): void {
		this.link.publish(relaySubjects.requests(this.target.name), text, this);
	}

	protected arm(name: ExchangeTimer, ms: number): void {
		clearTimeout(this.#timers[name]);
		if (name === 'connect' || name === 'probe') {
			this.#stopWatching ??= watchStalls();
			const due = ownNow() + ms;
			if (name === 'connect') {
				this.#connectDue = due;
			} else {
				this.#probeDue = due;
			}

			this.#timers[name] = setTimeout(ownTimeCheck, ms, this, name);
		} else {
			this.#timers[name] = setTimeout(fire, ms, this, name);
		}
	}

	/** An own-time timer's wall-clock wait ended: it fires once its own time has passed, else waits for the rest. */
	ownTimeCheck(name: 'connect' | 'probe'): void {
		const left = (name === 'connect' ? this.#connectDue : this.#probeDue) - ownNow();
		if (left >= 1) {
			this.#timers[name] = setTimeout(ownTimeCheck, left, this, name);
			return;
		}

		this.#timers[name] = undefined;
		if (this.#timers.connect === undefined && this.#timers.probe === undefined) {
			this.#stopWatching?.();
			this.#stopWatching = undefined;
		}

		this.timerFired(name);
	}

	protected disarmAll(): void {
		const timers = this.#timers;
		clearTimeout(timers.connect);
		clearTimeout(timers.probe);
		clearTimeout(timers.deadline);
		clearTimeout(timers.status);
		clearTimeout(timers.cancel);
		this.#stopWatching?.();
		this.#stopWatching = undefined;
	}

	protected ended(end: ExchangeEnd): void {
		this.link.routes.delete(this.subject);
		this.options.cancel?.signal.removeEventListener('abort', this);
		this.resolve(end);
	}
}

function fire(exchange: RelayExchange, name: ExchangeTimer): void {
	exchange.timerFired(name);
}

function ownTimeCheck(exchange: LinkExchange, name: 'connect' | 'probe'): void {
	exchange.ownTimeCheck(name);
}
