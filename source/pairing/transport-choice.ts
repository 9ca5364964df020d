/**
 * How the controller will reach an agent it pairs, decided when the agent's commit arrives (before
 * any code is shown, so a refusal costs the operator nothing). The operator's `pair --transport`
 * and `--relay` win; without them the request proposes: an agent whose config names a broker
 * (`"relay"`) proposes `both`, or `nats` when it listens on no address (`"listen": "none"`, sent as
 * address `none`); an agent with neither is reached over direct TLS. Refused: a relay transport with
 * no broker URL from either side, and direct TLS to an agent with no address. Pure.
 */
import type {AgentTransport} from '../registry/model.js';
import {isRelayUrl} from '../relay/relay-url.js';

/** What the operator said on `xi-exec pair` (either may be absent). */
export type OperatorTransport = {transport?: AgentTransport; relay?: string};

export type TransportChoice = {transport: AgentTransport; relay?: string};

/** The address an agent that opens no port sends in its pairing request. */
export const noAddress = 'none';

export function chooseTransport(operator: OperatorTransport, request: {name: string; address: string; relay?: string}): {ok: true; choice: TransportChoice} | {ok: false; reason: string} {
	if (request.relay !== undefined && !isRelayUrl(request.relay)) {
		return {ok: false, reason: `agent ${request.name} proposes the broker ${JSON.stringify(request.relay)}, which is not nats://HOST:PORT`};
	}

	const listens = request.address !== noAddress;
	const proposed: AgentTransport = listens ? (request.relay === undefined ? 'tls' : 'both') : 'nats';
	const transport = operator.transport ?? proposed;
	const relay = operator.relay ?? request.relay;
	if (transport !== 'nats' && !listens) {
		return {ok: false, reason: `agent ${request.name} listens on no address ("listen": "none"), so it can be reached only through the relay; pair it with --transport nats --relay nats://HOST:PORT`};
	}

	if (transport === 'tls') {
		return {ok: true, choice: {transport}};
	}

	if (relay === undefined) {
		return {ok: false, reason: `agent ${request.name} is to be reached through the relay (transport ${transport}), but no broker is named; pair with --relay nats://HOST:PORT, or set "relay" in the agent's config.json`};
	}

	return {ok: true, choice: {transport, relay}};
}

/** A choice as the registry record and the events carry it: nothing for direct TLS (the default, as records paired before the relay). */
export function recordedTransport(choice: TransportChoice): Partial<TransportChoice> {
	return choice.transport === 'tls' ? {} : choice;
}

/** How a choice reads to the operator: "direct TLS", "relay nats://b:4222", "TLS, else relay nats://b:4222". */
export function describeTransport(choice: TransportChoice): string {
	switch (choice.transport) {
		case 'tls': {
			return 'direct TLS';
		}

		case 'nats': {
			return `relay ${choice.relay ?? '?'}`;
		}

		case 'both': {
			return `TLS, else relay ${choice.relay ?? '?'}`;
		}
	}
}
