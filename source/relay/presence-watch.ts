/**
 * The controller listening for relay agents' presence (presence.ts checks each heartbeat): one
 * broker connection subscribed to every agent's presence subject, each heartbeat checked against
 * the registry, and the agents whose presence counted marked seen "via relay" together, one
 * journal line per `flushMs` (not one per heartbeat). The registry is read again at each flush, so
 * an agent paired, renewed or unpaired since is judged by its record now. A refused heartbeat is
 * reported through `onRefused` (a log line: a hostile publisher must not be able to fill the
 * audit log). `xi-exec serve` runs one per broker its relay agents use.
 */
import {connect as natsConnect, type NatsConnection} from '@nats-io/transport-node';
import type {TlsCredentials} from '../pki/credentials.js';
import {relaySubjects} from '../protocol/relay-subjects.js';
import {revokedSerials, type AgentRecord} from '../registry/model.js';
import type {RegistryStore} from '../registry/store.js';
import {brokerTls} from './broker-tls.js';
import {checkPresence} from './presence.js';

export type PresenceWatchOptions = {
	url: string;
	credentials: TlsCredentials;
	registry: RegistryStore;
	onRefused: (reason: string, agent?: string) => void;
	onError?: (reason: string) => void;
	/** Told at each flush what counted since the last one (agent → issue time) and whether the broker connection is live now; awaited. */
	onFlush?: (counted: ReadonlyMap<string, number>, live: boolean) => void | Promise<void>;
	now?: () => number;
	flushMs?: number;
	connect?: typeof natsConnect;
};

export type PresenceWatch = {
	/** Marks what has counted so far as seen now (and resolves when it is written). */
	flush: () => Promise<void>;
	close: () => Promise<void>;
};

export async function watchPresence(options: PresenceWatchOptions): Promise<PresenceWatch> {
	const now = options.now ?? Date.now;
	let records = new Map<string, AgentRecord>();
	let revoked: ReadonlySet<string> = new Set();
	const readRegistry = async () => {
		const registry = await options.registry.read();
		records = new Map(registry.agents.map(agent => [agent.name, agent]));
		revoked = revokedSerials(registry);
	};

	await readRegistry();
	const connection: NatsConnection = await (options.connect ?? natsConnect)({
		servers: options.url,
		name: 'xi-exec controller presence',
		tls: brokerTls(options.credentials),
		reconnect: true,
		maxReconnectAttempts: -1,
	});
	const last = new Map<string, number>();
	const counted = new Map<string, number>();
	const decoder = new TextDecoder();
	connection.subscribe(relaySubjects.allPresence, {
		callback(error, message) {
			try {
				if (error) {
					options.onError?.(error.message);
					return;
				}

				const verdict = checkPresence(message.subject, decoder.decode(message.data), {record: name => records.get(name), revoked, last, now: now()});
				if (verdict.ok) {
					counted.set(verdict.agent, Math.max(verdict.at, counted.get(verdict.agent) ?? verdict.at));
				} else {
					options.onRefused(verdict.reason, verdict.agent);
				}
			} catch (caught) {
				// Nothing may stop this subscription (a callback that throws stops the connection's handling).
				options.onError?.((caught as Error).message);
			}
		},
	});
	await connection.flush();
	let live = true;
	void (async () => {
		for await (const status of connection.status()) {
			if (status.type === 'disconnect' || status.type === 'reconnect') {
				live = status.type === 'reconnect';
			}
		}
	})().catch(() => undefined);

	const flush = async () => {
		const now = new Map(counted);
		counted.clear();
		try {
			await options.onFlush?.(now, live && !connection.isClosed());
		} catch (error) {
			options.onError?.(`the presence state could not be written: ${(error as Error).message}`);
		}

		if (now.size > 0) {
			const names = [...now.keys()];
			const at = Math.min(...now.values());
			await options.registry.markSeen(names, new Date(at).toISOString(), 'relay').catch((error: unknown) => options.onError?.(`the registry's seen journal could not be written: ${(error as Error).message}`));
		}

		await readRegistry().catch((error: unknown) => options.onError?.(`the registry could not be read: ${(error as Error).message}`));
	};

	const timer = setInterval(() => void flush(), options.flushMs ?? 5000);
	timer.unref();
	return {
		flush,
		async close() {
			clearInterval(timer);
			await flush();
			await connection.drain().catch(() => undefined);
		},
	};
}
