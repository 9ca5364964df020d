import {createHash} from 'node:crypto';
import test from 'ava';
import {authenticateToken, checkScope, hashToken, newToken, parseExpiry, scopeOf, tokenPrefix, type TokenCheck, type TokenRecord, type TokenScope} from '../../source/policy/tokens.js';

const now = new Date('2026-01-14T10:00:00.000Z');

test('newToken: a prefix and 192 random bits in base64url, stored only as a hash', t => {
	const {token, hash, id} = newToken();
	t.regex(token, /^xie_[A-Za-z0-9_-]{32}$/);
	t.is(Buffer.from(token.slice(tokenPrefix.length), 'base64url').length, 24);
	t.regex(hash, /^[0-9a-f]{64}$/);
	t.is(hash, hashToken(token));
	t.false(hash.includes(token.slice(tokenPrefix.length)));
	t.regex(id, /^[0-9a-f]{12}$/);
});

test('newToken: 1000 tokens are distinct and their bits are balanced', t => {
	const tokens = Array.from({length: 1000}, () => newToken());
	t.is(new Set(tokens.map(item => item.token)).size, 1000);
	t.is(new Set(tokens.map(item => item.hash)).size, 1000);
	t.is(new Set(tokens.map(item => item.id)).size, 1000);
	let ones = 0;
	for (const {token} of tokens) {
		for (const byte of Buffer.from(token.slice(tokenPrefix.length), 'base64url')) {
			ones += byte.toString(2).split('').filter(bit => bit === '1').length;
		}
	}

	// 192,000 fair bits: 96,000 ones, standard deviation about 220.
	t.true(Math.abs(ones - 96_000) < 2000, `${ones} ones in 192000 bits`);
});

test('hashToken is domain-separated: not the plain SHA-256 of the token', t => {
	const {token} = newToken();
	t.not(hashToken(token), createHash('sha256').update(token).digest('hex'));
	t.is(hashToken(token), hashToken(token));
});

function record(name: string, token: string, fields: Partial<TokenRecord> = {}): TokenRecord {
	return {id: `id-${name}`, name, hash: hashToken(token), scripts: ['tail-log'], on: ['site=london'], createdAt: '2026-01-01T00:00:00.000Z', expiresAt: null, revokedAt: null, ...fields};
}

const secrets = {
	active: `${tokenPrefix}${'A'.repeat(32)}`,
	revoked: `${tokenPrefix}${'B'.repeat(32)}`,
	expiresNow: `${tokenPrefix}${'C'.repeat(32)}`,
	expiresSoon: `${tokenPrefix}${'D'.repeat(32)}`,
	revokedAndExpired: `${tokenPrefix}${'E'.repeat(32)}`,
	longest: `${tokenPrefix}${'F'.repeat(96)}`,
};

const store: TokenRecord[] = [
	record('active', secrets.active),
	record('revoked', secrets.revoked, {revokedAt: '2026-01-10T09:00:00.000Z'}),
	record('expires-now', secrets.expiresNow, {expiresAt: now.toISOString()}),
	record('expires-soon', secrets.expiresSoon, {expiresAt: '2026-01-14T10:00:00.001Z'}),
	record('revoked-and-expired', secrets.revokedAndExpired, {expiresAt: '2026-01-01T00:00:00.000Z', revokedAt: '2026-01-02T00:00:00.000Z'}),
	record('longest', secrets.longest),
];

const notOurs: TokenCheck = {ok: false, reason: 'the token is not an xi-exec token'};

const authentications: Array<{title: string; presented: string; result: TokenCheck}> = [
	{title: 'an active token', presented: secrets.active, result: {ok: true, token: store[0]!}},
	{title: 'a token 1 ms before it expires', presented: secrets.expiresSoon, result: {ok: true, token: store[3]!}},
	{title: 'a token of the longest accepted length (100 characters)', presented: secrets.longest, result: {ok: true, token: store[5]!}},
	{title: 'an unknown token', presented: `${tokenPrefix}${'Z'.repeat(32)}`, result: {ok: false, reason: 'unknown token'}},
	{title: 'an active token with one character changed', presented: `${secrets.active.slice(0, -1)}B`, result: {ok: false, reason: 'unknown token'}},
	{title: 'an active token with a trailing newline (callers trim)', presented: `${secrets.active}\n`, result: {ok: false, reason: 'unknown token'}},
	{title: 'a revoked token', presented: secrets.revoked, result: {ok: false, reason: 'token revoked was revoked at 2026-01-10T09:00:00.000Z'}},
	{title: 'a token that expires exactly now', presented: secrets.expiresNow, result: {ok: false, reason: 'token expires-now expired at 2026-01-14T10:00:00.000Z'}},
	{title: 'a token both revoked and expired: revoked is said', presented: secrets.revokedAndExpired, result: {ok: false, reason: 'token revoked-and-expired was revoked at 2026-01-02T00:00:00.000Z'}},
	{title: 'a token with the wrong prefix', presented: `xix_${'A'.repeat(32)}`, result: notOurs},
	{title: 'the prefix in capitals', presented: `XIE_${'A'.repeat(32)}`, result: notOurs},
	{title: 'an Authorization header value pasted whole', presented: `Bearer ${secrets.active}`, result: notOurs},
	{title: 'an empty token', presented: '', result: notOurs},
	{title: 'a token one character too long (101)', presented: `${secrets.longest}F`, result: notOurs},
	{title: 'a megabyte of token', presented: `${tokenPrefix}${'A'.repeat(1024 * 1024)}`, result: notOurs},
];

for (const row of authentications) {
	test(`authenticateToken: ${row.title}`, t => {
		t.deepEqual(authenticateToken(store, row.presented, now), row.result);
	});
}

test('authenticateToken: a damaged record in the store matches nothing and stops no one else', t => {
	const damaged = [record('damaged', 'x', {hash: 'not hex'}), record('short', 'x', {hash: 'abcd'}), ...store];
	t.deepEqual(authenticateToken(damaged, secrets.active, now), {ok: true, token: store[0]!});
	t.deepEqual(authenticateToken(damaged, `${tokenPrefix}${'Z'.repeat(32)}`, now), {ok: false, reason: 'unknown token'});
});

test('authenticateToken with no tokens stored', t => {
	t.deepEqual(authenticateToken([], secrets.active, now), {ok: false, reason: 'unknown token'});
});

test('scopeOf keeps what the token may do and drops its hash', t => {
	t.deepEqual(scopeOf(store[0]!), {id: 'id-active', name: 'active', scripts: ['tail-log'], on: ['site=london'], expiresAt: null});
});

const fleet = {
	london1: {name: 'london1', tags: {site: 'london'}},
	london2: {name: 'london2', tags: {site: 'london', role: 'web'}},
	londonCaps: {name: 'london3', tags: {site: 'London'}},
	paris1: {name: 'paris1', tags: {site: 'paris'}},
	bare: {name: 'bare', tags: {}},
};

const acme: TokenScope = {id: 'a1', name: 'contractor-acme', scripts: ['restart-nginx', 'tail-log'], on: ['site=london'], expiresAt: null};
const paris = Array.from({length: 7}, (_, index) => ({name: `paris${index + 1}`, tags: {site: 'paris'}}));

const scopes: Array<{title: string; scope: TokenScope; script: string; targets: Array<{name: string; tags: Record<string, string>}>; result: string | undefined}> = [
	{title: 'a script and targets inside the scope', scope: acme, script: 'tail-log', targets: [fleet.london1, fleet.london2], result: undefined},
	{title: 'a script outside the scope', scope: acme, script: 'deploy', targets: [fleet.london1], result: 'token contractor-acme may not run deploy (it may run restart-nginx, tail-log)'},
	{title: 'a script outside the scope and no target: the script is said', scope: acme, script: 'deploy', targets: [], result: 'token contractor-acme may not run deploy (it may run restart-nginx, tail-log)'},
	{title: 'one target outside refuses the whole request', scope: acme, script: 'tail-log', targets: [fleet.london1, fleet.paris1, fleet.london2], result: 'token contractor-acme may not reach paris1 (its scope is --on site=london)'},
	{title: 'a tag value differing only in case is outside', scope: acme, script: 'tail-log', targets: [fleet.londonCaps], result: 'token contractor-acme may not reach london3 (its scope is --on site=london)'},
	{title: 'a target without tags is outside a tag scope', scope: acme, script: 'tail-log', targets: [fleet.bare], result: 'token contractor-acme may not reach bare (its scope is --on site=london)'},
	{title: 'seven targets outside: five named and a count', scope: acme, script: 'tail-log', targets: [fleet.london1, ...paris], result: 'token contractor-acme may not reach paris1, paris2, paris3, paris4, paris5 and 2 more (its scope is --on site=london)'},
	{title: 'no target at all', scope: acme, script: 'tail-log', targets: [], result: 'the request names no target'},
	{title: 'a scope of every script', scope: {...acme, scripts: ['*']}, script: 'anything-at-all', targets: [fleet.london1], result: undefined},
	{title: 'a "*" is not a glob inside a name', scope: {...acme, scripts: ['tail-*']}, script: 'tail-log', targets: [fleet.london1], result: 'token contractor-acme may not run tail-log (it may run tail-*)'},
	{title: 'a scope of several clauses (OR)', scope: {...acme, on: ['paris1', 'role=web']}, script: 'tail-log', targets: [fleet.paris1, fleet.london2], result: undefined},
	{title: 'outside every clause', scope: {...acme, on: ['paris1', 'role=web']}, script: 'tail-log', targets: [fleet.london1], result: 'token contractor-acme may not reach london1 (its scope is --on paris1 --on role=web)'},
	{title: 'a scope of all', scope: {...acme, on: ['all']}, script: 'tail-log', targets: [fleet.bare, fleet.paris1], result: undefined},
	{title: 'a scope whose selector does not parse reaches nothing', scope: {...acme, on: ['site=lon don']}, script: 'tail-log', targets: [fleet.london1], result: 'token contractor-acme may not reach london1 (its scope is --on site=lon don)'},
];

for (const row of scopes) {
	test(`checkScope: ${row.title}`, t => {
		t.is(checkScope(row.scope, row.script, row.targets), row.result);
	});
}

const durations: Array<{text: string; result: string}> = [
	{text: '30d', result: '2026-02-13T10:00:00.000Z'},
	{text: '12h', result: '2026-01-14T22:00:00.000Z'},
	{text: '90m', result: '2026-01-14T11:30:00.000Z'},
	{text: '1m', result: '2026-01-14T10:01:00.000Z'},
	{text: '3650d', result: '2036-01-12T10:00:00.000Z'},
];

for (const row of durations) {
	test(`parseExpiry reads ${row.text}`, t => {
		const expires = parseExpiry(row.text, now);
		t.true(expires instanceof Date);
		t.is((expires as Date).toISOString(), row.result);
	});
}

for (const text of ['0d', '0m', '1w', '1y', '', '-1d', '1.5h', '30D', ' 30d', '30d ', '30', 'd', '1e3d', '99999999999d', '9'.repeat(400) + 'd']) {
	test(`parseExpiry refuses ${JSON.stringify(text.length > 20 ? `${text.slice(0, 10)}…` : text)}`, t => {
		t.is(parseExpiry(text, now), `--expires ${JSON.stringify(text)} must be a duration like 90m, 12h or 30d`);
	});
}
