/**
 * The agent's connection to the broker, its IO shell: it dials out with the agent's own
 * certificate (so it works behind NAT), reconnecting for as long as it runs, subscribes to its own
 * request subject only, hands each message's text to `onRequest`, logs the connection's status
 * changes, and publishes replies on its own reply subjects. Once connected it sends its signed
 * presence heartbeat (relay-presence.ts). Every NATS callback is guarded: one that throws would
 * stop that connection's message handling.
 */
import {connect as natsConnect, type NatsConnection} from '@nats-io/transport-node';
import {relaySubjects} from '../source/protocol/relay-subjects.js';
import {brokerTls} from '../source/relay/broker-tls.js';
import type {AgentCredentials} from './credentials.js';
import type {AgentLog} from './execute-run.js';
import {startPresence, type PresencePorts} from './relay-presence.js';

export type BrokerOptions = {
	url: string;
	agentName: string;
	credentials: () => AgentCredentials;
	log: AgentLog;
	onRequest: (text: string) => void;
	presence: Pick<PresencePorts, 'signing' | 'now' | 'intervalMs'>;
	connect?: typeof natsConnect;
};

export type BrokerConnection = {
	/** Resolves once connected (and subscribed) the first time. */
	connected: Promise<void>;
	/** Publishes a reply to request `id` (a failure is logged, never thrown). */
	publish: (id: string, text: string) => void;
	/** Stops the heartbeat, waits for `settle` (the runs ending, their last replies sent), then drains the connection. */
	close: (settle: () => Promise<void>) => Promise<void>;
};

export function connectBroker(options: BrokerOptions): BrokerConnection {
	const {agentName, log} = options;
	let connection: NatsConnection | undefined;
	let stopPresence: (() => void) | undefined;
	let closing = false;

	const connected = (async () => {
		connection = await (options.connect ?? natsConnect)({
			servers: options.url,
			name: `xi-exec-agent ${agentName}`,
			waitOnFirstConnect: true,
			reconnect: true,
			maxReconnectAttempts: -1,
			tls: brokerTls(options.credentials()),
		});
		if (closing) {
			await connection.close();
			return;
		}

		subscribeRequests(connection, options);
		void watchStatus(connection, options);
		// One round trip to the broker: once it answers, it holds the subscription, so "connected"
		// means a request published from now on reaches this agent.
		await connection.flush();
		log('relay.connected', {broker: options.url, subject: relaySubjects.requests(agentName)});
		const nc = connection;
		stopPresence = startPresence({...options.presence, agentName, log, publish: text => nc.publish(relaySubjects.presence(agentName), text)});
	})();
	connected.catch((error: unknown) => {
		log('relay.error', {broker: options.url, reason: `cannot connect: ${(error as Error).message}`});
	});

	return {
		connected,
		publish(id, text) {
			try {
				connection?.publish(relaySubjects.reply(agentName, id), text);
			} catch (error) {
				log('relay.error', {requestId: id, reason: `a reply was not sent: ${(error as Error).message}`});
			}
		},
		async close(settle) {
			closing = true;
			stopPresence?.();
			await settle();
			await connection?.drain().catch(() => undefined);
		},
	};
}

function subscribeRequests(connection: NatsConnection, {agentName, log, onRequest}: BrokerOptions): void {
	const decoder = new TextDecoder();
	connection.subscribe(relaySubjects.requests(agentName), {
		callback(error, message) {
			try {
				if (error) {
					log('relay.error', {reason: error.message});
					return;
				}

				onRequest(decoder.decode(message.data));
			} catch (caught) {
				log('relay.error', {reason: `a request was dropped: ${(caught as Error).message}`});
			}
		},
	});
}

async function watchStatus(connection: NatsConnection, {url, log}: BrokerOptions): Promise<void> {
	try {
		for await (const status of connection.status()) {
			const detail = 'error' in status && status.error instanceof Error ? status.error.message : undefined;
			log(`relay.${status.type}`, {broker: url, ...(detail ? {reason: detail} : {})});
		}
	} catch (error) {
		log('relay.error', {reason: (error as Error).message});
	}
}
