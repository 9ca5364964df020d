/**
 * Discovery for a long-running server: each agent's last answer is kept with its time, and a
 * caller asks for answers no older than it needs (`GET /v1/agents` asks for fresh ones, the
 * OpenAPI document accepts a few seconds). Agents already being asked are not asked twice.
 */
import type {ClientContext} from '../dispatch/agent-connection.js';
import {discoverAgent, type Discovered} from '../dispatch/discover.js';
import {mapLimited} from '../dispatch/pool.js';
import type {AgentRecord} from '../registry/model.js';

export type DiscoveryCache = {
	discover: (agents: readonly AgentRecord[], options: {maxAgeMs: number; timeoutMs?: number}) => Promise<Discovered[]>;
};

export function createDiscoveryCache(context: ClientContext | (() => ClientContext), options: {parallel?: number; timeoutMs?: number; now?: () => number; revoked?: () => Promise<ReadonlySet<string>>} = {}): DiscoveryCache {
	const now = options.now ?? Date.now;
	const answers = new Map<string, {at: number; found: Discovered}>();
	const asking = new Map<string, Promise<Discovered>>();
	// An agent re-paired at another address or with another certificate is a new agent.
	const keyOf = (agent: AgentRecord) => `${agent.name}\n${agent.address}\n${agent.serial}`;

	const ask = (agent: AgentRecord, timeoutMs: number, revoked: ReadonlySet<string> | undefined): Promise<Discovered> => {
		const key = keyOf(agent);
		const pending = asking.get(key);
		if (pending) {
			return pending;
		}

		const started = now();
		const promise = discoverAgent(agent, typeof context === 'function' ? context() : context, timeoutMs, revoked).then(found => {
			answers.set(key, {at: started, found});
			return found;
		}).finally(() => {
			asking.delete(key);
		});
		asking.set(key, promise);
		return promise;
	};

	return {
		async discover(agents, request) {
			const timeoutMs = request.timeoutMs ?? options.timeoutMs ?? 3000;
			// An unpaired or superseded agent certificate is refused here too, as by the run flow.
			const revoked = await options.revoked?.();
			const results = await mapLimited(agents, options.parallel ?? 64, async agent => {
				const known = answers.get(keyOf(agent));
				return known && now() - known.at <= request.maxAgeMs ? known.found : ask(agent, timeoutMs, revoked);
			});
			// Forget agents no longer registered.
			const current = new Set(agents.map(agent => keyOf(agent)));
			if (answers.size > current.size * 2 + 64) {
				for (const key of answers.keys()) {
					if (!current.has(key)) {
						answers.delete(key);
					}
				}
			}

			return results;
		},
	};
}
