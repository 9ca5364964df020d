/**
 * The console's live filter: space-separated terms that must all hold. `key=value` matches an
 * agent whose tag `key` starts with `value` (so the table narrows as you type `env=prod`); a bare
 * word matches agents whose name contains it. Pure.
 */
import type {Tags} from './tags.js';

export type FilterTerm = {kind: 'tag'; key: string; value: string} | {kind: 'word'; word: string};

export function parseFilter(text: string): FilterTerm[] {
	return text
		.split(/\s+/)
		.filter(term => term.length > 0)
		.map(term => {
			const equals = term.indexOf('=');
			return equals === -1 ? {kind: 'word', word: term.toLowerCase()} : {kind: 'tag', key: term.slice(0, equals), value: term.slice(equals + 1)};
		});
}

export function matchesFilter(terms: readonly FilterTerm[], agent: {name: string; tags: Tags}): boolean {
	return terms.every(term =>
		term.kind === 'word'
			? agent.name.toLowerCase().includes(term.word)
			: Object.hasOwn(agent.tags, term.key) && agent.tags[term.key]!.startsWith(term.value));
}
