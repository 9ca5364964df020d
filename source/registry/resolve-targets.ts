/** Resolving `--on` against the registry, with the errors an operator needs. */
import {XiError} from '../errors.js';
import {parseSelector, selectAgents} from '../policy/selector.js';
import type {AgentRecord, Registry} from './model.js';

export function resolveTargets(registry: Registry, on: readonly string[], options: {defaultAll?: boolean} = {}): AgentRecord[] {
	const values = on.length === 0 && options.defaultAll ? ['all'] : on;
	const parsed = parseSelector(values);
	if (!parsed.ok) {
		throw new XiError('SELECTOR_INVALID', `--on: ${parsed.reason}.`);
	}

	const targets = selectAgents(parsed.selector, registry.agents);
	if (targets.length === 0 && !(options.defaultAll && on.length === 0)) {
		const registered = registry.agents.length;
		throw new XiError('NO_TARGETS', `--on ${values.join(' --on ')} matches no registered agent (${registered} registered; \`xi-exec agents\` lists them).`);
	}

	return targets;
}
