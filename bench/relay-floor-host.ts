/**
 * The relay floor's agents (relay-floor.ts): a worker process holding, for each agent listed in
 * its input, that agent's own TLS connection to the broker as its own broker user (its
 * certificate), subscribed to its own request subject, as a relay agent connects. On each request
 * it checks the controller's signature with the certificate the message carries (what a bare TLS
 * server's handshake checks of its client; no pins, no role, no time window, no replay guard, no
 * records) and answers with one signed reply (relayFloorReply): a dry run's result. As bare as the
 * direct floor's bare-host.ts.
 *
 *   node --import=tsx bench/relay-floor-host.ts INPUT.json     INPUT.json: {url, agents: [{name, serial, home}]}
 */
import {createPrivateKey, X509Certificate, type KeyObject} from 'node:crypto';
import {readFileSync} from 'node:fs';
import {connect, type NatsConnection} from '@nats-io/transport-node';
import {agentPaths} from '../agent/home.js';
import {mapLimited} from '../source/dispatch/pool.js';
import {brokerTls} from '../source/relay/broker-tls.js';
import {announce, exitWhenAsked} from './host-protocol.js';
import {relayFloorReply} from './relay-floor.js';

export type RelayFloorHostInput = {url: string; agents: Array<{name: string; serial: string; home: string}>};

const input = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as RelayFloorHostInput;
const connections: NatsConnection[] = [];
/** The controller's public key, by the certificate text its requests carry. */
const controllerKeys = new Map<string, KeyObject>();
const controllerKey = (certificate: string) => {
	let key = controllerKeys.get(certificate);
	if (!key) {
		key = new X509Certificate(Buffer.from(certificate, 'base64')).publicKey;
		controllerKeys.set(certificate, key);
	}

	return key;
};

async function startOne(agent: RelayFloorHostInput['agents'][number]): Promise<void> {
	const paths = agentPaths(agent.home);
	const credentials = {key: readFileSync(paths.key, 'utf8'), cert: readFileSync(paths.cert, 'utf8'), ca: readFileSync(paths.ca, 'utf8')};
	const signingKey = createPrivateKey(credentials.key);
	// As a relay agent connects (agent/relay-broker.ts): a handshake the loaded broker drops is tried again.
	const connection = await connect({servers: input.url, tls: brokerTls(credentials), waitOnFirstConnect: true, reconnect: true, maxReconnectAttempts: -1});
	connections.push(connection);
	const token = agent.name.replaceAll('.', '_');
	connection.subscribe(`xi.a.${token}.req`, {
		callback(error, message) {
			if (error) {
				return;
			}

			const reply = relayFloorReply(message.data, {name: agent.name, serial: agent.serial, key: signingKey}, controllerKey, Date.now());
			if (reply) {
				connection.publish(`xi.r.${token}.${reply.id}`, reply.message);
			}
		},
	});
	await connection.flush();
}

exitWhenAsked(async () => {
	await Promise.allSettled(connections.map(async connection => connection.close()));
});

try {
	await mapLimited(input.agents, 32, startOne);
	announce({ready: connections.length});
} catch (error) {
	announce({failed: (error as Error).message});
	process.exit(1);
}
