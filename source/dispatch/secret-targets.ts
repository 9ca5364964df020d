/**
 * Which arguments of a run are secret, from the schemas the targets advertise for the script:
 * a position any target marks secret is secret. A target that cannot be asked might mark any
 * argument secret, so then every argument is treated as secret (kept only as hashes).
 */
import type {SecureContext} from 'node:tls';
import {allSecret, noSecrets, secretArgsOf, unionSecrets, type SecretArgs} from '../protocol/secret-args.js';
import type {AgentTarget} from './agent-connection.js';
import {discoverAgents, type Discovered} from './discover.js';

export type DescribeTargets = (targets: readonly AgentTarget[]) => Promise<readonly Discovered[]>;

export function describeTargets(context: SecureContext, parallel: number, timeoutMs = 5000): DescribeTargets {
	return async targets => discoverAgents(targets, context, {parallel, timeoutMs});
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
	if (found.length < targets.length || found.some(agent => agent.status !== 'reachable')) {
		return allSecret;
	}

	return unionSecrets(found.map(agent => secretArgsOf(agent.scripts.find(entry => entry?.name === script)?.args)));
}
