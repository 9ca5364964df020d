/**
 * When each agent last answered, kept beside the registry rather than in it: a run appends one
 * line, `{"at": ISO-8601, "agents": [names]}`, to a small journal instead of rewriting the whole
 * registry (every certificate in it) under its lock. Reading the registry lays the journal over
 * it: the latest time wins, and a time before the agent was paired belongs to an earlier agent of
 * that name and is ignored. A line torn by a crash is skipped (and the line appended after it kept).
 * Pure: registry/store.ts does the files.
 */
import type {Registry} from './model.js';

/** One journal line (with its newline): these agents answered at `at`. */
export function seenLine(names: readonly string[], at: string): string {
	return `${JSON.stringify({at, agents: [...names]})}\n`;
}

/** The latest time each agent was seen, from journal text (lines of seenLine). */
export function parseSeen(text: string): Map<string, string> {
	const latest = new Map<string, string>();
	for (const line of text.split('\n')) {
		const entry = parseLine(line);
		for (const name of entry?.agents ?? []) {
			const known = latest.get(name);
			if (known === undefined || Date.parse(known) < Date.parse(entry!.at)) {
				latest.set(name, entry!.at);
			}
		}
	}

	return latest;
}

function parseLine(line: string): {at: string; agents: string[]} | undefined {
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

	const {at, agents} = (value ?? {}) as {at?: unknown; agents?: unknown};
	if (typeof at !== 'string' || Number.isNaN(Date.parse(at)) || !Array.isArray(agents) || !agents.every(name => typeof name === 'string')) {
		return undefined;
	}

	return {at, agents: agents as string[]};
}

/** The registry with each agent's lastSeen the later of its own and the journal's (not before it was paired). */
export function overlaySeen(registry: Registry, seen: ReadonlyMap<string, string>): Registry {
	if (seen.size === 0) {
		return registry;
	}

	return {
		...registry,
		agents: registry.agents.map(agent => {
			const at = seen.get(agent.name);
			const later = at !== undefined && !(Date.parse(at) < Date.parse(agent.pairedAt)) && (agent.lastSeen === undefined || Date.parse(agent.lastSeen) < Date.parse(at));
			return later ? {...agent, lastSeen: at} : agent;
		}),
	};
}
