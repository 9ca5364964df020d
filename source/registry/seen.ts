/**
 * When each agent last answered, kept beside the registry rather than in it: a run appends one
 * line, `{"at": ISO-8601, "agents": [names], "via": "tls"|"relay"}`, to a small journal instead of rewriting the whole
 * registry (every certificate in it) under its lock. Reading the registry lays the journal over
 * it: the latest time wins, and a time before the agent was paired belongs to an earlier agent of
 * that name and is ignored. A line torn by a crash is skipped (and the line appended after it kept).
 * Pure: registry/store.ts does the files.
 */
import {seenVias, type SeenVia} from './model.js';
import type {Registry} from './model.js';

/** One journal line (with its newline): these agents answered at `at`, over that link when known (`via`). */
export function seenLine(names: readonly string[], at: string, via?: SeenVia): string {
	return `${JSON.stringify({at, agents: [...names], ...(via ? {via} : {})})}\n`;
}

export type Seen = {at: string; via?: SeenVia};

/** The latest time each agent was seen, and over which link, from journal text (lines of seenLine). */
export function parseSeen(text: string): Map<string, Seen> {
	const latest = new Map<string, Seen>();
	for (const line of text.split('\n')) {
		const entry = parseLine(line);
		for (const name of entry?.agents ?? []) {
			const known = latest.get(name);
			if (known === undefined || Date.parse(known.at) < Date.parse(entry!.at)) {
				latest.set(name, {at: entry!.at, ...(entry!.via ? {via: entry!.via} : {})});
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

	return {
		...registry,
		agents: registry.agents.map(agent => {
			const entry = seen.get(agent.name);
			const later = entry !== undefined && !(Date.parse(entry.at) < Date.parse(agent.pairedAt)) && (agent.lastSeen === undefined || Date.parse(agent.lastSeen) < Date.parse(entry.at));
			if (!later) {
				return agent;
			}

			const {lastSeenVia: _earlier, ...rest} = agent;
			return {...rest, lastSeen: entry.at, ...(entry.via ? {lastSeenVia: entry.via} : {})};
		}),
	};
}
