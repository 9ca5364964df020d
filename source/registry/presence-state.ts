/**
 * Where relay presence lives between processes: `xi-exec serve` counts relay agents' signed
 * heartbeats (relay/presence.ts checks each one) and writes what it counted to a small state file beside
 * the registry (`registry.presence.json`, replaced whole at each flush); every face reads it through
 * the agents view. The state holds, per agent, when its last valid heartbeat was issued and on which
 * broker, and per broker, when serve last held a live subscription to it (so a reader can tell "not
 * seen" from "nobody is watching").
 *
 * A relay agent's presence at `now`:
 *   seen        its last valid heartbeat is at most two heartbeat intervals old (60 s);
 *   not-seen    older or none, while its broker is watched (serve was subscribed within 60 s);
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
	/** Per broker URL: when serve last held a live subscription to its presence subjects (ms). */
	brokers: Record<string, number>;
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
	return {v: 1, brokers: Object.create(null) as Record<string, number>, agents: Object.create(null) as Record<string, {at: number; broker: string}>};
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

	for (const [url, at] of Object.entries(value['brokers'])) {
		if (Number.isSafeInteger(at)) {
			state.brokers[url] = at as number;
		}
	}

	for (const [name, entry] of Object.entries(value['agents'])) {
		if (isAgentName(name) && isRecord(entry) && Number.isSafeInteger(entry['at']) && typeof entry['broker'] === 'string') {
			state.agents[name] = {at: entry['at'] as number, broker: entry['broker']};
		}
	}

	return state;
}

/**
 * The state after a flush at `now`: the heartbeats counted since the last one (the later one per
 * agent wins), the brokers watched live now, and nothing older than a day (an unpaired agent's entry goes).
 */
export function notePresence(state: PresenceState, counted: ReadonlyMap<string, {at: number; broker: string}>, watched: readonly string[], now: number): PresenceState {
	const next = emptyPresenceState();
	const cutoff = now - 86_400_000;
	for (const [url, at] of Object.entries(state.brokers)) {
		if (at >= cutoff) {
			next.brokers[url] = at;
		}
	}

	for (const url of watched) {
		next.brokers[url] = now;
	}

	for (const [name, entry] of Object.entries(state.agents)) {
		if (entry.at >= cutoff) {
			next.agents[name] = entry;
		}
	}

	for (const [name, entry] of counted) {
		const known = next.agents[name];
		if (!known || entry.at > known.at) {
			next.agents[name] = entry;
		}
	}

	return next;
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
