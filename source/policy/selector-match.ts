/**
 * Which agents a parsed selector picks (selector-parse.ts): those any including clause matches,
 * less those any `!` clause matches; and what an operator should hear about the choice. Pure.
 */
import {parseSelector, type Body, type Selector} from './selector-parse.js';
import type {Tags} from './tags.js';

type Agent = {name: string; tags: Tags};

export function matchesSelector(selector: Selector, agent: Agent): boolean {
	return selector.clauses.some(clause => !clause.exclude && matchesBody(clause.body, agent))
		&& !selector.clauses.some(clause => clause.exclude && matchesBody(clause.body, agent));
}

function matchesBody(body: Body, agent: Agent): boolean {
	switch (body.kind) {
		case 'all': {
			return true;
		}

		case 'names': {
			return body.names.has(agent.name) || body.globs.some(glob => glob.test(agent.name));
		}

		case 'tags': {
			return body.tags.every(({key, value, glob}) => Object.hasOwn(agent.tags, key) && (glob ? glob.test(agent.tags[key]!) : agent.tags[key] === value));
		}
	}
}

export function selectAgents<A extends Agent>(selector: Selector, agents: readonly A[]): A[] {
	return agents.filter(agent => matchesSelector(selector, agent));
}

export type Selection<A> = {
	agents: A[];
	/** Names given in full (no `*`) that no registered agent has, in the order given. */
	unknownNames: string[];
	/** Exclusions that match no registered agent at all: most likely a misspelt name. */
	emptyExclusions: string[];
	/** Exclusions that match registered agents, none of them selected: nothing was removed. */
	idleExclusions: string[];
};

/** The agents a selector picks, with what an operator should hear about (a typo, a no-op exclusion). */
export function resolveSelection<A extends Agent>(selector: Selector, agents: readonly A[]): Selection<A> {
	const picked = selectAgents(selector, agents);
	const registered = new Set(agents.map(agent => agent.name));
	const unknownNames = [...new Set(selector.clauses.flatMap(clause => clause.body.kind === 'names' && !clause.exclude ? [...clause.body.names] : []))]
		.filter(name => !registered.has(name));
	const emptyExclusions: string[] = [];
	const idleExclusions: string[] = [];
	const included = selector.clauses.filter(clause => !clause.exclude);
	for (const clause of selector.clauses.filter(clause => clause.exclude)) {
		const matched = agents.filter(agent => matchesBody(clause.body, agent));
		if (matched.length === 0) {
			emptyExclusions.push(clause.text);
		} else if (!matched.some(agent => included.some(include => matchesBody(include.body, agent)))) {
			idleExclusions.push(clause.text);
		}
	}

	return {agents: picked, unknownNames, emptyExclusions, idleExclusions};
}
/**
 * The console's filter box through the same grammar: whitespace-separated clauses (OR, `!` to
 * remove). Empty text selects every agent.
 */
export function filterBySelector<A extends Agent>(text: string, agents: readonly A[]): {ok: true; agents: A[]} | {ok: false; reason: string} {
	const values = text.split(/\s+/).filter(value => value !== '');
	if (values.length === 0) {
		return {ok: true, agents: [...agents]};
	}

	const parsed = parseSelector(values.every(value => value.startsWith('!')) ? ['all', ...values] : values);
	return parsed.ok ? {ok: true, agents: selectAgents(parsed.selector, agents)} : parsed;
}
