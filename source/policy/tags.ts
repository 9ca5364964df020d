/** Tags: `key=value` metadata on agents, used by selectors and token scopes. */
import {hasControl} from '../protocol/text-checks.js';

export const tagKeyPattern = /^[a-z0-9][a-z0-9._-]{0,62}$/;
export const tagValuePattern = /^[A-Za-z0-9._:/@+-]{1,128}$/;

export type Tags = Record<string, string>;

export type TagParse = {ok: true; key: string; value: string} | {ok: false; reason: string};

export function parseTag(text: string): TagParse {
	if (hasControl(text)) {
		return {ok: false, reason: `tag ${JSON.stringify(text)} contains a control character`};
	}

	const equals = text.indexOf('=');
	if (equals === -1) {
		return {ok: false, reason: `tag ${JSON.stringify(text)} must be key=value`};
	}

	const key = text.slice(0, equals);
	const value = text.slice(equals + 1);
	if (!tagKeyPattern.test(key)) {
		return {ok: false, reason: `tag key ${JSON.stringify(key)} must match ${tagKeyPattern.source}`};
	}

	if (!tagValuePattern.test(value)) {
		return {ok: false, reason: `tag value ${JSON.stringify(value)} must match ${tagValuePattern.source}`};
	}

	return {ok: true, key, value};
}

/** Tags as `key=value` words, sorted by key, for display. */
export function formatTags(tags: Tags): string {
	return Object.keys(tags).sort().map(key => `${key}=${tags[key]}`).join(' ');
}

/** The same tags, key for key. */
export function sameTags(a: Tags, b: Tags): boolean {
	const keys = Object.keys(a);
	return keys.length === Object.keys(b).length && keys.every(key => Object.hasOwn(b, key) && b[key] === a[key]);
}

export type TagChange = {set: Tags; unset: string[]};

/**
 * `key=value` words to set, or (with `unset`) keys to remove, each checked by the tag grammar;
 * every bad word is named in one reason. A key given twice is refused (which one would win?).
 */
export function parseTagChange(words: readonly string[], mode: 'set' | 'unset'): {ok: true; change: TagChange} | {ok: false; reason: string} {
	if (words.length === 0) {
		return {ok: false, reason: mode === 'set' ? 'give at least one key=value' : 'give at least one tag key'};
	}

	const problems: string[] = [];
	const set: Tags = Object.create(null) as Tags;
	const unset: string[] = [];
	const seen = new Set<string>();
	for (const word of words) {
		let key: string;
		if (mode === 'set') {
			const tag = parseTag(word);
			if (!tag.ok) {
				problems.push(tag.reason);
				continue;
			}

			key = tag.key;
			set[key] = tag.value;
		} else {
			if (hasControl(word) || !tagKeyPattern.test(word)) {
				problems.push(word.includes('=') ? `${JSON.stringify(word)} is key=value; untag takes only the key (${JSON.stringify(word.slice(0, word.indexOf('=')))})` : `tag key ${JSON.stringify(word)} must match ${tagKeyPattern.source}`);
				continue;
			}

			key = word;
			unset.push(key);
		}

		if (seen.has(key)) {
			problems.push(`tag key ${JSON.stringify(key)} is given twice`);
		}

		seen.add(key);
	}

	return problems.length > 0 ? {ok: false, reason: problems.join('; ')} : {ok: true, change: {set: {...set}, unset}};
}

/** Applies a change; unsetting a key the tags do not have is refused (a typo would otherwise pass silently). */
export function applyTagChange(tags: Tags, change: TagChange): {ok: true; tags: Tags} | {ok: false; reason: string} {
	const missing = change.unset.filter(key => !Object.hasOwn(tags, key));
	if (missing.length > 0) {
		return {ok: false, reason: `there is no tag ${missing.map(key => JSON.stringify(key)).join(', ')} to remove (the tags are: ${formatTags(tags) || 'none'})`};
	}

	const next: Tags = {};
	for (const key of Object.keys(tags).sort()) {
		if (!change.unset.includes(key)) {
			next[key] = tags[key]!;
		}
	}

	for (const key of Object.keys(change.set)) {
		next[key] = change.set[key]!;
	}

	return {ok: true, tags: Object.fromEntries(Object.entries(next).sort(([a], [b]) => a.localeCompare(b)))};
}

/** How an agent's own tags differ from the registry's, as words: `site=paris (registry: berlin)`, `+role=db`, `-env`. */
export function describeDrift(registry: Tags, reported: Tags): string {
	const keys = [...new Set([...Object.keys(registry), ...Object.keys(reported)])].sort();
	return keys.flatMap(key => {
		if (!Object.hasOwn(reported, key)) {
			return [`no ${key} (registry: ${registry[key]!})`];
		}

		if (!Object.hasOwn(registry, key)) {
			return [`${key}=${reported[key]!} (registry: none)`];
		}

		return registry[key] === reported[key] ? [] : [`${key}=${reported[key]!} (registry: ${registry[key]!})`];
	}).join(', ');
}
