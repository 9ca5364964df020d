/**
 * The agents view: every face that lists the fleet (`xi-exec agents --json`, GET /v1/agents, MCP
 * `list_agents`) shows each agent as this one document. The selected agents are asked what they run now, the
 * reachable ones are recorded as seen, and each is shown with its registry facts (address, tags,
 * certificate expiry), what it reported (its own tags, drift, reachability) and its scripts.
 * Being seen is one appended line of the registry's journal, not a rewrite of the registry.
 * Each agent also shows how it is reached (`transport`: tls, nats, both) and the link it last
 * answered over (`lastSeenVia`); `presenceText` words it for the faces: "seen 3 s ago via relay".
 * A relay agent also shows its signed presence heartbeats as `xi-exec serve` counted them
 * (`relayPresence`, registry/presence-state.ts); `seenText` folds both into what SEEN says.
 */
import type {Discovered} from '../dispatch/discover.js';
import {sameTags} from '../policy/tags.js';
import type {AgentRecord, AgentTransport, SeenVia} from '../registry/model.js';
import {emptyPresenceState, presenceStaleMs, relayPresenceOf, relayPresenceText, type PresenceState, type RelayPresence} from '../registry/presence-state.js';
import type {RegistryStore} from '../registry/store.js';
import {compileAdvertisedSchema} from './advertised-schema.js';

export type AgentScriptView = {
	name: string;
	description: string;
	timeoutSeconds: number;
	/** The argument schema the agent advertises, as it advertises it. */
	args: unknown;
	/** Why the advertised schema cannot be used (the script is then refused), or null. */
	schemaProblem: string | null;
	maxTargets: number | null;
	confirm: boolean;
};

export type AgentView = {
	name: string;
	address: string;
	tags: Record<string, string>;
	/** The tags the agent reports about itself (null when it did not answer); the registry's decide. */
	reportedTags: Record<string, string> | null;
	/** Its own tags differ from the registry's. */
	drifted: boolean;
	status: Discovered['status'];
	/** Why it is not reachable, or null. */
	reason: string | null;
	/** How the controller reaches it: direct TLS, the NATS relay, or TLS with the relay as fallback. */
	transport: AgentTransport;
	lastSeen: string | null;
	/** The link it answered over at lastSeen (null when never seen or not known). */
	lastSeenVia: SeenVia | null;
	/**
	 * For an agent reached through the relay (transport nats or both): its last valid signed presence
	 * heartbeat as `xi-exec serve` counted it, and whether that makes it seen now (within two
	 * heartbeats, 60 s), not seen, or unknown because nobody watches its broker. Null on direct TLS.
	 */
	relayPresence: RelayPresence | null;
	certificateExpires: string;
	scripts: AgentScriptView[];
};

export type AgentsViewPorts = {
	registry: RegistryStore;
	/** Asks each agent what it runs now; one answer per agent, in order. */
	discover: (agents: readonly AgentRecord[]) => Promise<Discovered[]>;
	now: () => Date;
};

/**
 * The selected agents, each asked what it runs now; the reachable ones are recorded as seen (a
 * registry that cannot be written costs nothing but that). `showScript` hides scripts a token may
 * not see.
 */
export async function viewAgents(ports: AgentsViewPorts, agents: readonly AgentRecord[], showScript: (name: string) => boolean = () => true): Promise<{agents: AgentView[]; reachable: AgentRecord[]}> {
	const found = await ports.discover(agents);
	const presence = ports.registry.presence?.() ?? emptyPresenceState();
	const now = ports.now().toISOString();
	const answered = found.filter(agent => agent.status === 'reachable');
	const reachable = new Set(answered.map(agent => agent.name));
	// One journal line per link the agents answered over.
	for (const via of [undefined, 'tls', 'relay'] as const) {
		const names = answered.filter(agent => agent.via === via).map(agent => agent.name);
		await ports.registry.markSeen(names, now, via).catch(() => undefined);
	}

	return {
		agents: agentViews(agents, found, now, showScript, presence),
		reachable: agents.filter(agent => reachable.has(agent.name)),
	};
}

/**
 * The selected agents as they answered (one answer per agent, in order) at `now`: a reachable one
 * was seen now, over the link it answered on; the others as the registry last saw them. Pure: the
 * MCP face shows the same views without recording anything.
 */
export function agentViews(agents: readonly AgentRecord[], found: readonly Discovered[], now: string, showScript: (name: string) => boolean = () => true, presence: PresenceState = emptyPresenceState()): AgentView[] {
	return agents.map((agent, index) => {
		const answer = found[index]!;
		const seen = answer.status === 'reachable' ? {at: now, via: answer.via} : {at: agent.lastSeen, via: agent.lastSeenVia};
		return agentView(agent, answer, seen, showScript, relayPresenceOf(agent, presence, Date.parse(now)));
	});
}

export function agentView(record: AgentRecord, found: Discovered, seen: {at?: string | undefined; via?: SeenVia | undefined}, showScript: (name: string) => boolean, relayPresence: RelayPresence | null = null): AgentView {
	return {
		name: record.name,
		address: record.address,
		tags: record.tags,
		reportedTags: found.reportedTags ?? null,
		drifted: found.reportedTags !== undefined && !sameTags(record.tags, found.reportedTags),
		status: found.status,
		reason: found.reason ?? null,
		transport: record.transport ?? 'tls',
		lastSeen: seen.at ?? null,
		lastSeenVia: seen.at === undefined ? null : seen.via ?? null,
		relayPresence,
		certificateExpires: record.certificateExpires,
		scripts: found.scripts.filter(script => showScript(script.name)).map(script => {
			const compiled = script.args === undefined ? undefined : compileAdvertisedSchema(script.args);
			return {
				name: script.name,
				description: script.description,
				timeoutSeconds: script.timeoutSeconds,
				args: script.args ?? null,
				schemaProblem: compiled && !compiled.ok ? compiled.reason : null,
				maxTargets: script.maxTargets ?? null,
				confirm: script.confirm === true,
			};
		}),
	};
}

/**
 * When an agent last answered, and over which link, for a person: "seen 3 s ago via relay",
 * "seen 5 min ago", "never seen". Whole units, rounded down (a second before the minute is 59 s).
 */
export function presenceText(seen: {lastSeen?: string | null | undefined; lastSeenVia?: SeenVia | null | undefined}, now: Date): string {
	const at = seen.lastSeen ? Date.parse(seen.lastSeen) : Number.NaN;
	if (Number.isNaN(at)) {
		return 'never seen';
	}

	const seconds = Math.max(0, Math.floor((now.getTime() - at) / 1000));
	const age = seconds < 60 ? `${seconds} s` : seconds < 3600 ? `${Math.floor(seconds / 60)} min` : seconds < 172_800 ? `${Math.floor(seconds / 3600)} h` : `${Math.floor(seconds / 86_400)} d`;
	return `seen ${age} ago${viaText(seen.lastSeenVia)}`;
}

/**
 * What the SEEN column says: presenceText, except for a relay agent whose broker is watched, where
 * its signed heartbeats count too: seen at the later of its last answer and its last heartbeat, and
 * "not seen for 4 min via relay" once both are older than two heartbeats.
 */
export function seenText(view: Pick<AgentView, 'lastSeen' | 'lastSeenVia' | 'relayPresence'>, now: Date): string {
	const presence = view.relayPresence;
	if (!presence || presence.state === 'unwatched') {
		return presenceText(view, now);
	}

	const answered = view.lastSeen ? Date.parse(view.lastSeen) : Number.NaN;
	const heartbeat = presence.lastHeartbeat ? Date.parse(presence.lastHeartbeat) : Number.NaN;
	if (presence.state === 'seen') {
		return answered >= heartbeat ? presenceText(view, now) : presenceText({lastSeen: presence.lastHeartbeat, lastSeenVia: 'relay'}, now);
	}

	return now.getTime() - answered <= presenceStaleMs ? presenceText(view, now) : relayPresenceText(presence, now.getTime());
}

/** The link an agent was seen over, as presenceText ends: " via relay", " via direct TLS", or nothing when not known. */
export function viaText(via: SeenVia | null | undefined): string {
	return via ? ` via ${via === 'relay' ? 'relay' : 'direct TLS'}` : '';
}

// In registry/model.ts, so that a run (core/run-execute.ts) gets it without this view's schema compiler (ajv).
export {seenViaOf} from '../registry/model.js';
