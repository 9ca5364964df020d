/**
 * The dispatcher's one link interface: `exchange()` sends one request to one agent and ends the
 * same way whichever link carried it (exchange-end.ts), so runs, rollouts, cancels, describes,
 * renewals and history never know which one did. Each agent's registry record chooses:
 *
 *   tls (or none)   direct mutual TLS to its address (tls-link.ts)
 *   nats            the relay: a signed envelope through the broker at its `relay` URL (relay-link.ts)
 *   both            direct TLS first; only when that connection could not be made (nothing was
 *                   sent, so nothing can run twice) the same request goes over the relay
 *
 * A `ClientContext` holds what the controller reaches agents with: the TLS client context and one
 * relay link per broker, opened on first use with the same credentials. A process that used the
 * relay closes it (`close()`), or its broker connection keeps the process alive.
 *
 * This module loads nothing of the relay: a dispatch thread (thread-worker.ts), which reaches
 * agents over direct TLS only, loads it and what it imports, and not the NATS client, tweetnacl or
 * the relay's envelopes (246 → 33 KB in the release's thread program). A ClientContext that can
 * open relay links is made by agent-connection.ts, which loads the relay on first use.
 */
import type {SecureContext, TLSSocket} from 'node:tls';
import type {TlsCredentials} from '../pki/credentials.js';
import type {AgentTransport, SeenVia} from '../registry/model.js';
import type {ExchangeEnd, RequestWithoutEnvelope} from './exchange-end.js';
import type {RelayLink} from './relay-link.js';
import {createTlsContext} from './agent-identity.js';
import {exchangeTls, type TlsExchangeOptions} from './tls-link.js';

export type {ExchangeEnd, RequestWithoutEnvelope} from './exchange-end.js';

/** An agent as the dispatcher reaches it: a registry record has all of these. */
export type AgentTarget = {
	name: string;
	address: string;
	/** How to reach it (tls when absent). */
	transport?: AgentTransport;
	/** The broker's URL, for nats and both. */
	relay?: string;
	/** Its certificate as the registry holds it: replies over the relay are verified with it. */
	serial?: string;
	certificate?: string;
};

/**
 * A connection dialled before the command was read in full (cli/early-dial.ts), with the
 * credentials and TLS context it was made with: `take` hands it to the first exchange with its
 * agent, once (a promise of the connection once secure, undefined when it failed).
 */
export type EarlyConnection = {
	credentials: TlsCredentials;
	tls: SecureContext;
	take: (agent: string) => Promise<TLSSocket | undefined> | undefined;
	/** Closes it unless it was taken. */
	close: () => void;
};

export type ClientContext = {
	readonly tls: SecureContext;
	/** The early connection to `agent`, when one was dialled and not yet taken (see EarlyConnection). */
	readonly early?: (agent: string) => Promise<TLSSocket | undefined> | undefined;
	/** The relay link to the broker at `url`, opened on first use and kept until `close()`. */
	relay: (url: string) => Promise<RelayLink>;
	close: () => Promise<void>;
};

export type RelayOpener = (url: string, credentials: TlsCredentials) => Promise<RelayLink>;

/**
 * Made once per process (or per controller certificate): see createTlsContext. With `early`, made
 * with the same credentials, its TLS context is used and its connection offered to the exchanges.
 * `openRelay` opens a link to a broker (agent-connection.ts's createClientContext passes the real one).
 */
export function clientContextWith(credentials: TlsCredentials, openRelay: RelayOpener, early?: EarlyConnection): ClientContext {
	const same = early && early.credentials.key === credentials.key && early.credentials.cert === credentials.cert && early.credentials.ca === credentials.ca;
	const tls = same ? early.tls : createTlsContext(credentials);
	const links = new Map<string, Promise<RelayLink>>();
	return {
		tls,
		...(same ? {early: early.take} : {}),
		relay(url) {
			let link = links.get(url);
			if (!link) {
				link = openRelay(url, credentials);
				// A broker that could not be reached is tried again by the next exchange.
				link.catch(() => links.delete(url));
				links.set(url, link);
			}

			return link;
		},
		async close() {
			early?.close();
			const open = [...links.values()];
			links.clear();
			await Promise.all(open.map(async link => link.then(async opened => opened.close(), () => undefined)));
		},
	};
}

/** Options of an exchange over either link: a direct TLS exchange's (tls-link.ts), handed to it as they are, and the relay's. */
export type ExchangeOptions = TlsExchangeOptions & {
	context: ClientContext;
	/** What the relay set aside on the way (duplicated replies, replies to replayed requests). */
	onNotice?: (notice: string) => void;
	/** Told which link the exchange ended on (for presence: "seen 3 s ago via relay"). */
	onVia?: (via: SeenVia) => void;
	// onFrame, onNotice and onVia are called as methods of these options (`options.onVia(...)`), never
	// taken off them: a run's are its HostRun's prototype methods (run-agent.ts), no closure per host.
	/** A run's secret argument positions: sealed to the agent's key over the relay (TLS already hides them). */
	sealArgs?: readonly number[];
};

export function exchange(target: AgentTarget, request: RequestWithoutEnvelope, options: ExchangeOptions): Promise<ExchangeEnd> {
	if ((target.transport ?? 'tls') === 'tls') {
		// Direct TLS alone ends on that link whatever happens: said now, and no async step of its own.
		options.onVia?.('tls');
		return exchangeTls(target, request, options);
	}

	return exchangeWithRelay(target, request, options);
}

/** An agent of transport `nats` over its relay; of `both`, over direct TLS first and the relay when that is unreachable. */
async function exchangeWithRelay(target: AgentTarget, request: RequestWithoutEnvelope, options: ExchangeOptions): Promise<ExchangeEnd> {
	if (target.transport === 'nats') {
		options.onVia?.('relay');
		return exchangeRelay(target, request, options);
	}

	const direct = await exchangeTls(target, request, options);
	if (direct.kind === 'unreachable' && !options.cancel?.signal.aborted) {
		options.onVia?.('relay');
		options.onNotice?.(`direct TLS: ${direct.reason}; tried the relay`);
		const relayed = await exchangeRelay(target, request, options);
		return relayed.kind === 'unreachable' ? {kind: 'unreachable', reason: `${direct.reason}; over the relay: ${relayed.reason}`} : relayed;
	}

	options.onVia?.('tls');
	return direct;
}

async function exchangeRelay(target: AgentTarget, request: RequestWithoutEnvelope, options: ExchangeOptions): Promise<ExchangeEnd> {
	if (!target.relay) {
		return {kind: 'unreachable', reason: `agent ${target.name} is paired for the relay but its registry record names no broker (pair it again with --relay URL)`};
	}

	if (!target.serial || !target.certificate) {
		return {kind: 'unreachable', reason: `the registry holds no certificate for agent ${target.name}, so its replies over the relay cannot be verified (pair it again)`};
	}

	let link: RelayLink;
	try {
		link = await options.context.relay(target.relay);
	} catch (error) {
		return {kind: 'unreachable', reason: `the broker ${target.relay} cannot be reached: ${(error as Error).message}`};
	}

	// The relay link reads the options it knows as they are (a copy without the TLS link's fields cost 0.7 KB per host).
	return link.exchange({name: target.name, serial: target.serial, certificate: target.certificate}, request, options);
}
