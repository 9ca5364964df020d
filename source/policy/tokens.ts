/**
 * Scoped bearer tokens for callers of the CLI and the API: at least 128 random bits (we use 192),
 * shown once, stored only as a SHA-256 hash, compared in constant time. A token names the scripts
 * it may run, the agents it may reach (selectors, as `--on`), and when it expires. Pure apart
 * from randomness and hashing.
 */
import {createHash, randomBytes, timingSafeEqual} from 'node:crypto';
import {matchesSelector, parseSelector, type Selector} from './selector.js';
import type {Tags} from './tags.js';

export const tokenPrefix = 'xie_';

export type TokenRecord = {
	id: string;
	name: string;
	hash: string;
	scripts: string[];
	on: string[];
	createdAt: string;
	expiresAt: string | null;
	revokedAt: string | null;
	/** An operator's own token: it may approve other operators' runs (approval rules name it). */
	operator?: boolean;
};

export type TokenScope = {id: string; name: string; scripts: string[]; on: string[]; expiresAt: string | null};

export function newToken(): {token: string; hash: string; id: string} {
	const token = tokenPrefix + randomBytes(24).toString('base64url');
	return {token, hash: hashToken(token), id: randomBytes(6).toString('hex')};
}

export function hashToken(token: string): string {
	return createHash('sha256').update('xi-exec token v1\n').update(token).digest('hex');
}

export type TokenCheck = {ok: true; token: TokenRecord} | {ok: false; reason: string};

/** Finds the token a caller presented; every stored hash is compared, each in constant time. */
export function authenticateToken(tokens: readonly TokenRecord[], presented: string, now: Date): TokenCheck {
	if (!presented.startsWith(tokenPrefix) || presented.length > 100) {
		return {ok: false, reason: 'the token is not an xi-exec token'};
	}

	const presentedHash = Buffer.from(hashToken(presented), 'hex');
	let found: TokenRecord | undefined;
	for (const token of tokens) {
		const stored = Buffer.from(token.hash, 'hex');
		// A damaged record (not 32 bytes of hex) matches nothing; timingSafeEqual would throw on it.
		if (stored.length === presentedHash.length && timingSafeEqual(presentedHash, stored)) {
			found = token;
		}
	}

	if (!found) {
		return {ok: false, reason: 'unknown token'};
	}

	if (found.revokedAt !== null) {
		return {ok: false, reason: `token ${found.name} was revoked at ${found.revokedAt}`};
	}

	if (found.expiresAt !== null && new Date(found.expiresAt) <= now) {
		return {ok: false, reason: `token ${found.name} expired at ${found.expiresAt}`};
	}

	return {ok: true, token: found};
}

export function scopeOf(token: TokenRecord): TokenScope {
	return {id: token.id, name: token.name, scripts: token.scripts, on: token.on, expiresAt: token.expiresAt};
}

/**
 * Whether a request fits a token's scope: the script is one of its scripts, and every target is
 * within its selectors. One target outside refuses the whole request (no partial run).
 */
export function checkScope(scope: TokenScope, script: string, targets: ReadonlyArray<{name: string; tags: Tags}>): string | undefined {
	if (!scope.scripts.includes('*') && !scope.scripts.includes(script)) {
		return `token ${scope.name} may not run ${script} (it may run ${scope.scripts.join(', ')})`;
	}

	if (targets.length === 0) {
		return 'the request names no target';
	}

	const parsed = parseSelector(scope.on);
	const selector: Selector | undefined = parsed.ok ? parsed.selector : undefined;
	const outside = targets.filter(target => !selector || !matchesSelector(selector, target));
	if (outside.length > 0) {
		return `token ${scope.name} may not reach ${outside.map(target => target.name).slice(0, 5).join(', ')}${outside.length > 5 ? ` and ${outside.length - 5} more` : ''} (its scope is --on ${scope.on.join(' --on ')})`;
	}

	return undefined;
}

/**
 * Why a token may not reach these agents (whatever script), or undefined. The same decision as a
 * run's scope check, with the script left out of it.
 */
export function reachProblem(scope: TokenScope, agents: ReadonlyArray<{name: string; tags: Tags}>): string | undefined {
	return agents.length === 0 ? undefined : checkScope({...scope, scripts: ['*']}, '*', agents);
}

/** Whether a token may see a script (in discovery and the document). */
export function scopeAllowsScript(scope: TokenScope, script: string): boolean {
	return scope.scripts.includes('*') || scope.scripts.includes(script);
}

/** `30d`, `12h`, `90m` → a date after `now`. */
export function parseExpiry(text: string, now: Date): Date | string {
	const match = /^(\d+)([mhd])$/.exec(text);
	const count = match ? Number(match[1]) : 0;
	const expires = new Date(now.getTime() + (count * {m: 60_000, h: 3_600_000, d: 86_400_000}[(match?.[2] ?? 'm') as 'm' | 'h' | 'd']));
	// Past the year 275760 a Date is invalid (and `toISOString()` would throw later).
	if (count < 1 || Number.isNaN(expires.getTime())) {
		return `--expires ${JSON.stringify(text)} must be a duration like 90m, 12h or 30d`;
	}

	return expires;
}
