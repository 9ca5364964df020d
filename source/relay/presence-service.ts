/**
 * `xi-exec serve`'s relay presence: one watch (presence-watch.ts) per broker the registry's relay
 * agents use, and the presence state file (registry/presence-state.ts) written at every flush, so
 * every face shows relay agents "seen 3 s ago via relay" without asking them. The registry is read
 * again at every flush: a broker first used by an agent paired while serve runs is watched from
 * then on, and a broker that could not be reached is tried again. A broker is written as watched
 * only while its connection is live, so a reader can tell "not seen" from "nobody is watching".
 */
import type {TlsCredentials} from '../pki/credentials.js';
import {emptyPresenceState, notePresence} from '../registry/presence-state.js';
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
	let state = options.registry.presence?.() ?? emptyPresenceState();
	const write = (url: string, counted: ReadonlyMap<string, number>, live: boolean) => {
		state = notePresence(state, new Map([...counted].map(([agent, at]) => [agent, {at, broker: url}])), live ? [url] : [], now());
		options.registry.writePresence?.(state);
	};

	const watch = (url: string) => {
		const started = watchPresence({
			url,
			credentials: options.credentials(),
			registry: options.registry,
			onRefused: (reason, agent) => options.onRefused(url, reason, agent),
			onError: reason => options.onError(url, reason),
			onFlush: (counted, live) => write(url, counted, live),
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
			// Nobody watches these brokers any more: a reader sees "unwatched" at once, not a minute later.
			state = {...state, brokers: Object.fromEntries(Object.entries(state.brokers).filter(([url]) => !watches.has(url)))};
			options.registry.writePresence?.(state);
		},
	};
}
