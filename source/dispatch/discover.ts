/**
 * Live discovery: ask each agent what it runs, in parallel; an agent that does not answer is
 * unreachable. A run's describe may go over its dispatch threads (thread-pool.ts): each
 * direct-TLS target's handshake on a thread, as the run's own will be.
 */
import {randomUUID} from 'node:crypto';
import {availableParallelism} from 'node:os';
import type {ScriptDescription} from '../protocol/frames.js';
import type {Tags} from '../policy/tags.js';
import type {SeenVia} from '../registry/model.js';
import type {ConnectionHold} from './held-connections.js';
import {exchange, type AgentTarget, type ClientContext} from './link-exchange.js';
import {mapLimited} from './pool.js';
import {describeParallelism} from './thread-count.js';
import type {DispatchThreads} from './thread-pool.js';

/** The run's dispatch threads, and how many of the describes' connections they keep for the run (its first wave). */
export type DescribeThreads = {pool: Pick<DispatchThreads, 'describe' | 'count'>; holdUpTo: number};

export type Discovered = {
	name: string;
	address: string;
	status: 'reachable' | 'unreachable';
	reason?: string;
	scripts: ScriptDescription[];
	/** The tags the agent reports about itself (the registry's tags are authoritative). */
	reportedTags?: Tags;
	/** The link it answered over (when reachable). */
	via?: SeenVia;
	/** It refuses a run planned with another entry than its own (a run's `entryDigest`): a plan may be made from this answer later. */
	checksEntry?: true;
};

/** `hold`: where to keep the connection for a run that follows, when the agent offers it. */
export async function discoverAgent(target: AgentTarget, context: ClientContext, timeoutMs: number, revoked?: ReadonlySet<string>, hold?: ConnectionHold): Promise<Discovered> {
	let via: SeenVia | undefined;
	const end = await exchange(target, {type: 'describe', id: randomUUID(), ...(hold ? {keepOpen: true as const} : {})}, {context, connectTimeoutMs: timeoutMs, deadlineMs: timeoutMs, onVia: link => (via = link), ...(revoked ? {revoked} : {}), ...(hold ? {hold} : {})});
	const base = {name: target.name, address: target.address};
	if (end.kind === 'terminal' && end.frame.type === 'description') {
		return {...base, status: 'reachable', scripts: end.frame.scripts, reportedTags: end.frame.agent.tags, ...(via ? {via} : {}), ...(end.frame.checksEntry ? {checksEntry: true as const} : {})};
	}

	const reason = end.kind === 'terminal'
		? (end.frame.type === 'error' ? `refused: ${end.frame.message.replace(/^refused: /, '')}` : `unexpected ${end.frame.type} frame`)
		: (end.kind === 'deadline' ? `no answer within ${timeoutMs / 1000} s` : end.reason);
	return {...base, status: 'unreachable', reason, scripts: []};
}

/**
 * `threads`: a direct-TLS target is described on one (unless the process holds an early
 * connection to it, or no thread is left), which keeps the connection for the run instead of `hold`,
 * and `parallel` describes go at once on each thread with a core of its own (thread-count.ts).
 */
export async function discoverAgents(targets: readonly AgentTarget[], context: ClientContext, options: {parallel: number; timeoutMs: number; revoked?: ReadonlySet<string>; onResult?: (found: Discovered) => void; hold?: ConnectionHold; threads?: DescribeThreads}): Promise<Discovered[]> {
	const {threads} = options;
	const parallel = threads ? describeParallelism(options.parallel, {threads: threads.pool.count, cores: availableParallelism()}) : options.parallel;
	return mapLimited(targets, parallel, async target => {
		const onThread = threads && (target.transport ?? 'tls') === 'tls' && !context.early ? threads.pool.describe(target, {timeoutMs: options.timeoutMs, holdUpTo: threads.holdUpTo, ...(options.revoked ? {revoked: options.revoked} : {})}) : undefined;
		const found = await (onThread ?? discoverAgent(target, context, options.timeoutMs, options.revoked, options.hold));
		options.onResult?.(found);
		return found;
	});
}
