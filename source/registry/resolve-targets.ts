/** Resolving a selector against the registry, with the errors and notes an operator needs. */
import {XiError} from '../errors.js';
import {parseSelector, resolveSelection} from '../policy/selector.js';
import type {AgentRecord, Registry} from './model.js';

export type ResolvedTargets = {targets: AgentRecord[]; notes: string[]};

/**
 * The registered agents `on` selects. Refused: a selector that does not parse (SELECTOR_INVALID),
 * an exclusion that matches no registered agent (a misspelt name would otherwise protect nothing),
 * an empty result (NO_TARGETS, naming what was asked). Notes: names given that are not registered,
 * exclusions that removed nothing.
 */
export function resolveTargetsWithNotes(registry: Registry, on: readonly string[], options: {defaultAll?: boolean} = {}): ResolvedTargets {
	// A listing that defaults to every agent starts from all when it is only told what to leave out.
	const values = options.defaultAll && on.every(value => value.startsWith('!')) ? ['all', ...on] : on;
	const parsed = parseSelector(values);
	if (!parsed.ok) {
		throw new XiError('SELECTOR_INVALID', `--on: ${parsed.reason}.`);
	}

	const selection = resolveSelection(parsed.selector, registry.agents);
	const registered = registry.agents.length;
	if (selection.emptyExclusions.length > 0) {
		throw new XiError('SELECTOR_INVALID', `--on ${selection.emptyExclusions.join(' --on ')} matches no registered agent, so it would remove nothing; check the spelling (\`xi-exec agents\` lists the ${registered}).`);
	}

	if (selection.agents.length === 0 && !(options.defaultAll && on.length === 0)) {
		throw new XiError('NO_TARGETS', `--on ${values.join(' --on ')} matches no registered agent (${registered} registered; \`xi-exec agents\` lists them).`);
	}

	const notes: string[] = [];
	if (selection.unknownNames.length > 0) {
		const shown = selection.unknownNames.slice(0, 10);
		notes.push(`not registered, so not asked: ${shown.join(', ')}${selection.unknownNames.length > shown.length ? ` and ${selection.unknownNames.length - shown.length} more` : ''}`);
	}

	for (const exclusion of selection.idleExclusions) {
		notes.push(`--on ${exclusion} removed nothing: none of the agents it matches was selected`);
	}

	return {targets: selection.agents, notes};
}

export function resolveTargets(registry: Registry, on: readonly string[], options: {defaultAll?: boolean} = {}): AgentRecord[] {
	return resolveTargetsWithNotes(registry, on, options).targets;
}
