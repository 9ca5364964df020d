/**
 * Where relay presence lives between processes: each `xi-exec serve` counts relay agents' signed
 * heartbeats (relay/presence.ts checks each one) and merges what it counted into a small state file
 * beside the registry (`registry.presence.json`), under a lock, re-reading it first (registry/store.ts),
 * so two serves (or a serve restarted while the old one stops) never overwrite each other; every face
 * reads it through the agents view. The state holds, per agent, when its last valid heartbeat was
 * issued and on which broker (the newest heartbeat wins, whoever counted it), and per serve (a
 * random id for its life, `watchers`), when it last held a live subscription to each broker; a
 * broker's `brokers` entry is the latest of those, so a reader can tell "not seen" from "nobody is
 * watching", and a serve that stops takes back only its own watch.
 *
 * A relay agent's presence at `now`:
 *   seen        its last valid heartbeat is at most two heartbeat intervals old (60 s);
 *   not-seen    older or none, while its broker is watched (a serve was subscribed within 60 s);
 *   unwatched   no heartbeat within 60 s and nobody watching its broker: presence is not known.
 * Agents on direct TLS have none (null). Pure: the clock is passed in; parsing never throws.
 */
import {isAgentName} from '../protocol/text-checks.js';

/** How often a relay agent says it is there (and once as it connects): relay/presence.ts. */
export const presenceIntervalMs = 30_000;

/** Beyond two heartbeat intervals an agent is not seen. */
export const presenceStaleMs = 2 * presenceIntervalMs;

export type PresenceState = {
	v: 1;
	/** Per broker URL: when a serve last held a live subscription to its presence subjects (ms): the latest of `watchers`. */
	brokers: Record<string, number>;
	/** Per serve (its random id): per broker URL, when it last held a live subscription to it (ms). */
	watchers: Record<string, Record<string, number>>;
	/** Per agent: when its last valid heartbeat was issued (ms, at most the controller's clock) and on which broker. */
	agents: Record<string, {at: number; broker: string}>;
};

export type RelayPresence = {
	state: 'seen' | 'not-seen' | 'unwatched';
	/** When its last valid signed heartbeat was issued (ISO 8601), or null when none is known. */
	lastHeartbeat: string | null;
	/** The broker that heartbeat came over, or null. */
	broker: string | null;
};

export function emptyPresenceState(): PresenceState {
	return {v: 1, brokers: record(), watchers: record(), agents: record()};
}

/** An object without a prototype: names read from a file cannot reach Object.prototype. */
function record<T>(): Record<string, T> {
	return Object.create(null) as Record<string, T>;
}

/** The state a file's text holds; anything unreadable is read as nothing known (never throws). */
export function parsePresenceState(text: string | undefined): PresenceState {
	const state = emptyPresenceState();
	let value: unknown;
	try {
		value = text === undefined ? undefined : JSON.parse(text);
	} catch {
		return state;
	}

	if (!isRecord(value) || value['v'] !== 1 || !isRecord(value['brokers']) || !isRecord(value['agents'])) {
		return state;
	}

	// A file written before serves kept their own watches: its brokers count as one unnamed serve's.
	const watchers = isRecord(value['watchers']) ? value['watchers'] : {'': value['brokers']};
	for (const [writer, brokers] of Object.entries(watchers)) {
		const watched = record<number>();
		for (const [url, at] of Object.entries(isRecord(brokers) ? brokers : {})) {
			if (Number.isSafeInteger(at)) {
				watched[url] = at as number;
			}
		}

		if (Object.keys(watched).length > 0) {
			state.watchers[writer] = watched;
		}
	}

	state.brokers = latestWatches(state.watchers);
	for (const [name, entry] of Object.entries(value['agents'])) {
		if (isAgentName(name) && isRecord(entry) && Number.isSafeInteger(entry['at']) && typeof entry['broker'] === 'string') {
			state.agents[name] = {at: entry['at'] as number, broker: entry['broker']};
		}
	}

	return state;
}

/** What one serve adds at a flush at `now`: the heartbeats it counted since its last flush, and the brokers it watches live now. */
export type PresenceFlush = {writer: string; counted: ReadonlyMap<string, {at: number; broker: string}>; watched: readonly string[]; now: number};

/**
 * The state after one serve's flush, merged into what is on disk: per agent the newest heartbeat
 * wins, whoever counted it; this serve's watches are renewed; and nothing older than a day is kept
 * (an unpaired agent's entry goes, and a serve that died without saying so).
 */
export function notePresence(state: PresenceState, {writer, counted, watched, now}: PresenceFlush): PresenceState {
	const next = emptyPresenceState();
	const cutoff = now - 86_400_000;
	for (const [id, brokers] of Object.entries(state.watchers)) {
		const kept = Object.entries(brokers).filter(([, at]) => at >= cutoff);
		if (kept.length > 0) {
			next.watchers[id] = Object.assign(record<number>(), Object.fromEntries(kept));
		}
	}

	if (watched.length > 0) {
		next.watchers[writer] = Object.assign(next.watchers[writer] ?? record<number>(), Object.fromEntries(watched.map(url => [url, now])));
	}

	for (const [name, entry] of [...Object.entries(state.agents), ...counted]) {
		const known = next.agents[name];
		if (entry.at >= cutoff && (!known || entry.at > known.at)) {
			next.agents[name] = entry;
		}
	}

	next.brokers = latestWatches(next.watchers);
	return next;
}

/** The state once serve `writer` stops: its watches go (a broker another serve watches stays watched); what it counted stays. */
export function forgetWatcher(state: PresenceState, writer: string): PresenceState {
	const watchers = Object.assign(record<Record<string, number>>(), Object.fromEntries(Object.entries(state.watchers).filter(([id]) => id !== writer)));
	return {...state, watchers, brokers: latestWatches(watchers)};
}

/** Per broker, the latest time any serve watched it. */
function latestWatches(watchers: Record<string, Record<string, number>>): Record<string, number> {
	const brokers = record<number>();
	for (const watched of Object.values(watchers)) {
		for (const [url, at] of Object.entries(watched)) {
			brokers[url] = Math.max(brokers[url] ?? at, at);
		}
	}

	return brokers;
}

/** A registry record's relay presence at `now` (null for an agent on direct TLS only). */
export function relayPresenceOf(record: {name: string; transport?: string | undefined; relay?: string | undefined}, state: PresenceState, now: number): RelayPresence | null {
	if (record.transport !== 'nats' && record.transport !== 'both') {
		return null;
	}

	const last = Object.hasOwn(state.agents, record.name) ? state.agents[record.name] : undefined;
	const fields = {lastHeartbeat: last ? new Date(last.at).toISOString() : null, broker: last?.broker ?? null};
	if (last && now - last.at <= presenceStaleMs) {
		return {state: 'seen', ...fields};
	}

	const watchedAt = record.relay !== undefined && Object.hasOwn(state.brokers, record.relay) ? state.brokers[record.relay]! : undefined;
	return {state: watchedAt !== undefined && now - watchedAt <= presenceStaleMs ? 'not-seen' : 'unwatched', ...fields};
}

/** A relay presence for a person: "seen 3 s ago via relay", "not seen for 4 min via relay", "not seen via relay", "not watched (xi-exec serve is not running)". */
export function relayPresenceText(presence: RelayPresence, now: number): string {
	const age = presence.lastHeartbeat === null ? undefined : ageText(now - Date.parse(presence.lastHeartbeat));
	switch (presence.state) {
		case 'seen': {
			return `seen ${age!} ago via relay`;
		}

		case 'not-seen': {
			return age === undefined ? 'not seen via relay' : `not seen for ${age} via relay`;
		}

		case 'unwatched': {
			return 'presence not watched (xi-exec serve is not running)';
		}
	}
}

/** Whole units, rounded down: "59 s", "12 min", "3 h", "2 d". */
export function ageText(ms: number): string {
	const seconds = Math.max(0, Math.floor(ms / 1000));
	return seconds < 60 ? `${seconds} s` : seconds < 3600 ? `${Math.floor(seconds / 60)} min` : seconds < 172_800 ? `${Math.floor(seconds / 3600)} h` : `${Math.floor(seconds / 86_400)} d`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}
