/**
 * Which arguments of a run are secret, from the schemas the targets advertise for the script:
 * a position any target marks secret is secret. Hosts that cannot be asked are taken to have the
 * same schema as those that answered (an allowlist entry is normally the same across a fleet), so a
 * host being down does not hide a run's arguments; but when no host that answered has the script,
 * every argument is treated as secret (kept only as hashes).
 */
import {allSecret, noSecrets, secretArgsOf, unionSecrets, type SecretArgs} from '../protocol/secret-args.js';
import type {AgentTarget, ClientContext} from './agent-connection.js';
import {discoverAgents, type DescribeThreads, type Discovered} from './discover.js';
import type {ConnectionHold} from './held-connections.js';

export type DescribeTargets = (targets: readonly AgentTarget[]) => Promise<readonly Discovered[]>;

/** `hold`: connections the agents keep open after describing, for the run (held-connections.ts); `threads`: the run's dispatch threads, which describe and keep instead. */
export function describeTargets(context: ClientContext, parallel: number, timeoutMs = 5000, revoked?: ReadonlySet<string>, hold?: ConnectionHold, threads?: DescribeThreads): DescribeTargets {
	return async targets => discoverAgents(targets, context, {parallel, timeoutMs, ...(revoked ? {revoked} : {}), ...(hold ? {hold} : {}), ...(threads ? {threads} : {})});
}

/** Asks once: a second call (the same run's targets) gets the first answer. */
export function describeOnce(describe: DescribeTargets): DescribeTargets {
	let asked: Promise<readonly Discovered[]> | undefined;
	return async targets => (asked ??= describe(targets));
}

export async function secretArgsForRun(script: string, args: readonly string[], targets: readonly AgentTarget[], describe: DescribeTargets): Promise<SecretArgs> {
	if (args.length === 0 || targets.length === 0) {
		return noSecrets;
	}

	const found = await describe(targets);
	const marks = found.filter(agent => agent.status === 'reachable').flatMap(agent => {
		const entry = agent.scripts.find(candidate => candidate?.name === script);
		return entry ? [secretArgsOf(entry.args)] : [];
	});
	const everyoneAnswered = found.length >= targets.length && found.every(agent => agent.status === 'reachable');
	if (marks.length === 0) {
		// Nobody who answered runs the script: only a host that did not answer could say what is secret.
		return everyoneAnswered ? noSecrets : allSecret;
	}

	return unionSecrets(marks);
}
