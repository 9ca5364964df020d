/**
 * When each agent last answered, kept beside the registry rather than in it: a run appends one
 * line, `{"at": ISO-8601, "agents": [names], "via": "tls"|"relay"}`, to a small journal instead of rewriting the whole
 * registry (every certificate in it) under its lock. Reading the registry lays the journal over
 * it: the latest time wins, and a time before the agent was paired belongs to an earlier agent of
 * that name and is ignored. A line torn by a crash is skipped (and the line appended after it kept).
 * Pure: registry/store.ts does the files.
 */
import {seenVias, type SeenVia} from './model.js';
import type {AgentRecord, Registry} from './model.js';

/** One journal line (with its newline): these agents answered at `at`, over that link when known (`via`). */
export function seenLine(names: readonly string[], at: string, via?: SeenVia): string {
	return `${JSON.stringify({at, agents: [...names], ...(via ? {via} : {})})}\n`;
}

export type Seen = {at: string; via?: SeenVia};

/**
 * The latest time each agent was seen, and over which link, from journal text (lines of seenLine).
 * Each line's time is parsed once, and the agents it names share one entry: at 10,000 agents a
 * journal holds ~40 runs' lines before it is folded, and the registry is read twice a run.
 */
export function parseSeen(text: string): Map<string, Seen> {
	const latest = new Map<string, Seen>();
	const times = new Map<string, number>();
	for (const line of text.split('\n')) {
		const entry = parseLine(line);
		if (entry === undefined) {
			continue;
		}

		const at = Date.parse(entry.at);
		const seen: Seen = {at: entry.at, ...(entry.via ? {via: entry.via} : {})};
		for (const name of entry.agents) {
			const known = times.get(name);
			if (known === undefined || known < at) {
				times.set(name, at);
				latest.set(name, seen);
			}
		}
	}

	return latest;
}

function parseLine(line: string): {at: string; agents: string[]; via?: SeenVia} | undefined {
	if (line.trim() === '') {
		return undefined;
	}

	let value: unknown;
	try {
		value = JSON.parse(line);
	} catch {
		// A line appended after a torn one (a crash mid-write) starts inside it: take it from there.
		const start = line.lastIndexOf('{"at":');
		return start > 0 ? parseLine(line.slice(start)) : undefined;
	}

	const {at, agents, via} = (value ?? {}) as {at?: unknown; agents?: unknown; via?: unknown};
	if (typeof at !== 'string' || Number.isNaN(Date.parse(at)) || !Array.isArray(agents) || !agents.every(name => typeof name === 'string')) {
		return undefined;
	}

	// A link this version does not know is left unsaid rather than guessed.
	const known = seenVias.find(name => name === via);
	return {at, agents, ...(known ? {via: known} : {})};
}

/** The registry with each agent's lastSeen (and the link it was seen over) the later of its own and the journal's (not before it was paired). */
export function overlaySeen(registry: Registry, seen: ReadonlyMap<string, Seen>): Registry {
	if (seen.size === 0) {
		return registry;
	}

	// The same few instants recur (one per run in the journal, and what the last fold wrote): each parsed once.
	const parsed = new Map<string, number>();
	const time = (text: string): number => {
		let value = parsed.get(text);
		if (value === undefined) {
			value = Date.parse(text);
			parsed.set(text, value);
		}

		return value;
	};

	return {
		...registry,
		agents: registry.agents.map(agent => {
			const entry = seen.get(agent.name);
			const later = entry !== undefined && !(time(entry.at) < time(agent.pairedAt)) && (agent.lastSeen === undefined || time(agent.lastSeen) < time(entry.at));
			return later ? seenRecord(agent, entry) : agent;
		}),
	};
}

/** The record seen at `entry`: a spread where it can be (an object rest, 4.8 against 1.5 us and 880 against 185 bytes an agent). */
function seenRecord(agent: AgentRecord, entry: Seen): AgentRecord {
	if (entry.via) {
		return {...agent, lastSeen: entry.at, lastSeenVia: entry.via};
	}

	if (agent.lastSeenVia === undefined) {
		return {...agent, lastSeen: entry.at};
	}

	const {lastSeenVia: _earlier, ...rest} = agent;
	return {...rest, lastSeen: entry.at};
}
