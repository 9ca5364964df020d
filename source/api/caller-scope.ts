/**
 * The token checks the token routes share: the caller's token, the agents a request selects
 * within its scope, and whether a recorded run lies within it.
 */
import {XiError} from '../errors.js';
import {selectorValues} from '../policy/selector.js';
import {checkScope, reachProblem, type TokenScope} from '../policy/tokens.js';
import type {AgentRecord, Registry} from '../registry/model.js';
import type {RegistryStore} from '../registry/store.js';
import {resolveTargets} from '../registry/resolve-targets.js';
import type {Caller} from './auth.js';

export type TokenCaller = {scope: TokenScope; token: string};

export function tokenCaller(caller: Caller): TokenCaller {
	if (caller.kind !== 'token') {
		throw new XiError('INTERNAL', 'a token route was reached without a token');
	}

	return caller;
}

/** The agents a listing selects (`on`, default all), refused when any lies outside the token's scope. */
export async function selectWithinScope(registryStore: RegistryStore, scope: TokenScope, on: string | string[] | undefined): Promise<{registry: Registry; agents: AgentRecord[]}> {
	const registry = await registryStore.read();
	const agents = resolveTargets(registry, selectorValues(on ?? []), {defaultAll: true});
	const problem = reachProblem(scope, agents);
	if (problem) {
		throw new XiError('OUT_OF_SCOPE', `Refused: ${problem}; select agents within the token's scope with on.`);
	}

	return {registry, agents};
}

/** Why a run of `script` on `targets` lies outside the scope, or undefined when it lies within. */
export function runFitsScope(scope: TokenScope, script: string, targets: readonly string[], registry: Registry): string | undefined {
	const agents = targets.map(name => registry.agents.find(agent => agent.name === name) ?? {name, tags: {}});
	return checkScope(scope, script, agents);
}

/** Refuses a recorded run outside the token's scope. */
export function refuseOutOfScope(scope: TokenScope, run: {script: string; targets: readonly string[]}, registry: Registry): void {
	const problem = runFitsScope(scope, run.script, run.targets, registry);
	if (problem) {
		throw new XiError('OUT_OF_SCOPE', `Refused: ${problem}.`);
	}
}
