/**
 * Target selection. Each `--on` value is one clause: `all`, an agent name, or tag terms
 * `key=value[,key=value]` that must all hold (AND). Several clauses are OR. Pure.
 */
import {hasControl, isAgentName} from '../protocol/text-checks.js';
import {parseTag, type Tags} from './tags.js';

export type Clause = {kind: 'all'} | {kind: 'name'; name: string} | {kind: 'tags'; tags: Array<[string, string]>};
export type Selector = {clauses: Clause[]; source: string[]};

export type SelectorParse = {ok: true; selector: Selector} | {ok: false; reason: string};

export function parseSelector(values: readonly string[]): SelectorParse {
	if (values.length === 0) {
		return {ok: false, reason: 'no target given: pass --on with an agent name, key=value tags, or all'};
	}

	const clauses: Clause[] = [];
	for (const value of values) {
		const clause = parseClause(value);
		if (typeof clause === 'string') {
			return {ok: false, reason: clause};
		}

		clauses.push(clause);
	}

	return {ok: true, selector: {clauses, source: [...values]}};
}

function parseClause(value: string): Clause | string {
	if (hasControl(value)) {
		return `selector ${JSON.stringify(value)} contains a control character`;
	}

	if (value === 'all') {
		return {kind: 'all'};
	}

	if (!value.includes('=')) {
		return isAgentName(value) ? {kind: 'name', name: value} : `selector ${JSON.stringify(value)} is neither "all", an agent name, nor key=value tags`;
	}

	const tags: Array<[string, string]> = [];
	for (const term of value.split(',')) {
		const tag = parseTag(term);
		if (!tag.ok) {
			return `in selector ${JSON.stringify(value)}: ${tag.reason}`;
		}

		tags.push([tag.key, tag.value]);
	}

	return {kind: 'tags', tags};
}

export function matchesSelector(selector: Selector, agent: {name: string; tags: Tags}): boolean {
	return selector.clauses.some(clause => matchesClause(clause, agent));
}

function matchesClause(clause: Clause, agent: {name: string; tags: Tags}): boolean {
	switch (clause.kind) {
		case 'all': {
			return true;
		}

		case 'name': {
			return agent.name === clause.name;
		}

		case 'tags': {
			return clause.tags.every(([key, value]) => Object.hasOwn(agent.tags, key) && agent.tags[key] === value);
		}
	}
}

export function selectAgents<A extends {name: string; tags: Tags}>(selector: Selector, agents: readonly A[]): A[] {
	return agents.filter(agent => matchesSelector(selector, agent));
}
