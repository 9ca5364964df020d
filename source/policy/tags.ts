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
