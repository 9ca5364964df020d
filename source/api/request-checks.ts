/** The checks on a request's headers and on what a token reaches, before any handler runs. Pure. */
import type {TokenScope} from '../policy/tokens.js';

export type Bearer = {ok: true; token: string} | {ok: false; reason: string};

/** `Authorization: Bearer TOKEN` (the scheme's case does not matter, RFC 6750); nothing else. */
export function bearerToken(header: string | undefined): Bearer {
	if (header === undefined || header === '') {
		return {ok: false, reason: 'no bearer token: send Authorization: Bearer TOKEN (from `xi-exec token create`)'};
	}

	const match = /^bearer +([\w.~+/-]{1,200}=*)$/i.exec(header);
	return match ? {ok: true, token: match[1]!} : {ok: false, reason: 'the Authorization header must be "Bearer TOKEN"'};
}

/** Query parameters that look like a token: refused, since URLs end up in logs and histories. */
export function tokenInQuery(query: unknown): string | undefined {
	if (typeof query !== 'object' || query === null) {
		return undefined;
	}

	return Object.keys(query).find(name => /^(?:access_?)?token$|^bearer$|^authorization$/i.test(name));
}

/**
 * The one media type a body may have: `application/json`, optionally with `charset=utf-8`.
 * Anything else, however close (`application/json5`, `application/json, text/plain`,
 * `application/json;foo=bar`, a trailing garbage parameter), is refused with 415.
 */
export function isJsonMediaType(header: string | undefined): boolean {
	return header !== undefined && /^application\/json(?:[ \t]*;[ \t]*charset=(?:utf-8|"utf-8"))?$/i.test(header);
}

/** A token whose scope is everything (no `!` clause taking agents away): it may manage tokens and read the audit trail. */
export function isFullScope(scope: TokenScope): boolean {
	return scope.scripts.includes('*') && scope.on.includes('all') && !scope.on.some(clause => clause.startsWith('!'));
}
