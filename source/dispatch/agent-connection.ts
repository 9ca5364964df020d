/**
 * How the controller's commands reach agents: a ClientContext made here opens a relay link (the
 * NATS client, loaded on first use) for an agent paired for the relay, and exchange() (link-exchange.ts)
 * carries each request over the link the agent's registry record chooses. A dispatch thread makes
 * its context with link-exchange.ts alone, which loads nothing of the relay.
 */
import type {TlsCredentials} from '../pki/credentials.js';
import type {RelayLink} from './relay-link.js';
import {clientContextWith, type ClientContext, type EarlyConnection, type RelayOpener} from './link-exchange.js';

export type {AgentTarget, ClientContext, EarlyConnection, ExchangeEnd, ExchangeOptions, RelayOpener, RequestWithoutEnvelope} from './link-exchange.js';
export {exchange} from './link-exchange.js';
export {envelope} from './tls-link.js';

/** See clientContextWith: this one reaches relay agents too. */
export function createClientContext(credentials: TlsCredentials, openRelay: RelayOpener = openRelayLinkLazily, early?: EarlyConnection): ClientContext {
	return clientContextWith(credentials, openRelay, early);
}

/** The NATS client is loaded only by a process that reaches a relay agent (a direct-TLS fleet never pays for it). */
async function openRelayLinkLazily(url: string, credentials: TlsCredentials): Promise<RelayLink> {
	const {openRelayLink} = await import('./relay-link.js');
	return openRelayLink({url, credentials});
}
