/**
 * `xi-exec serve`'s relay presence: one watch (presence-watch.ts) per broker the registry's relay
 * agents use, and what each counted merged into the presence state file at every flush
 * (registry/presence-state.ts), so every face shows relay agents "seen 3 s ago via relay" without
 * asking them. Several serves may run on one registry (two hosts' worth of watching, or a serve
 * restarted while the old one drains): each merges under a lock as one watcher (a random id for
 * its life), and one that stops takes back only its own watches. The registry is read again at
 * every flush: a broker first used by an agent paired while serve runs is watched from then on,
 * and a broker that could not be reached is tried again. A broker is written as watched only while
 * its connection is live, so a reader can tell "not seen" from "nobody is watching".
 */
import {randomUUID} from 'node:crypto';
import type {TlsCredentials} from '../pki/credentials.js';
import {forgetWatcher, notePresence} from '../registry/presence-state.js';
import type {RegistryStore} from '../registry/store.js';
import {relayBrokers} from './presence.js';
import {watchPresence, type PresenceWatchOptions, type PresenceWatch} from './presence-watch.js';

export type PresenceServiceOptions = {
	credentials: () => TlsCredentials;
	registry: RegistryStore;
	onRefused: (broker: string, reason: string, agent?: string) => void;
	onError: (broker: string | undefined, reason: string) => void;
	/** Told once per broker as its watch starts. */
	onWatching?: (broker: string) => void;
	now?: () => number;
	flushMs?: number;
	connect?: PresenceWatchOptions['connect'];
	/** This serve's name among the presence state's watchers (a random id by default). */
	writer?: string;
};

export type PresenceService = {
	/** Flushes every watch, writes the state and starts watches for brokers new in the registry. */
	sync: () => Promise<void>;
	/** The brokers watched now. */
	brokers: () => string[];
	close: () => Promise<void>;
};

export async function startPresenceService(options: PresenceServiceOptions): Promise<PresenceService> {
	const now = options.now ?? Date.now;
	const flushMs = options.flushMs ?? 5000;
	const watches = new Map<string, Promise<PresenceWatch | undefined>>();
	const writer = options.writer ?? randomUUID();
	const write = async (url: string, counted: ReadonlyMap<string, number>, live: boolean) => options.registry.updatePresence?.(state => notePresence(state, {
		writer,
		counted: new Map([...counted].map(([agent, at]) => [agent, {at, broker: url}])),
		watched: live ? [url] : [],
		now: now(),
	}));

	const watch = (url: string) => {
		const started = watchPresence({
			url,
			credentials: options.credentials(),
			registry: options.registry,
			onRefused: (reason, agent) => options.onRefused(url, reason, agent),
			onError: reason => options.onError(url, reason),
			onFlush: async (counted, live) => write(url, counted, live),
			now,
			flushMs,
			...(options.connect ? {connect: options.connect} : {}),
		}).then(running => {
			options.onWatching?.(url);
			return running;
		}, (error: unknown) => {
			options.onError(url, `the broker cannot be reached: ${(error as Error).message}; tried again in ${flushMs / 1000} s`);
			watches.delete(url);
			return undefined;
		});
		watches.set(url, started);
		return started;
	};

	const startNew = async () => {
		const brokers = relayBrokers((await options.registry.read()).agents);
		await Promise.all(brokers.filter(url => !watches.has(url)).map(watch));
	};

	await startNew().catch((error: unknown) => options.onError(undefined, `the registry could not be read: ${(error as Error).message}`));
	const sync = async () => {
		await Promise.all([...watches.values()].map(async started => (await started)?.flush()));
		await startNew().catch((error: unknown) => options.onError(undefined, `the registry could not be read: ${(error as Error).message}`));
	};

	const timer = setInterval(() => void startNew().catch(() => undefined), flushMs);
	timer.unref();
	return {
		sync,
		brokers: () => [...watches.keys()],
		async close() {
			clearInterval(timer);
			await Promise.all([...watches.values()].map(async started => (await started)?.close()));
			// This serve watches no broker any more: unless another serve does, a reader sees "unwatched" at once, not a minute later.
			await options.registry.updatePresence?.(state => forgetWatcher(state, writer)).catch((error: unknown) => options.onError(undefined, `the presence state could not be written: ${(error as Error).message}`));
		},
	};
}
