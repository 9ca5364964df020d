/**
 * Scoped bearer tokens, for every face (the CLI's `xi-exec token`, the REST API's /v1/tokens):
 * create, list, revoke, returning data and typed errors whose wording names the field, not a flag.
 * Creating and revoking are audited before they take effect (`token.created`, `token.revoked`:
 * who, the token's id, name and scope; never the token): when the record cannot be written the
 * call fails with AUDIT_UNAVAILABLE and the token store is unchanged.
 */
import {withControllerAudit} from '../audit/controller-log.js';
import type {AuditLog} from '../audit/file-log.js';
import {XiError} from '../errors.js';
import type {ControllerPaths} from '../home.js';
import {parseSelector} from '../policy/selector.js';
import {openTokenStore} from '../policy/token-store.js';
import {newToken, parseExpiry, type TokenRecord} from '../policy/tokens.js';
import {hasControl, isScriptName} from '../protocol/text-checks.js';

export type TokenPorts = {
	paths: ControllerPaths;
	now: Date;
	/** An audit log already open (the REST API's); else the home's is opened for the call. */
	audit?: AuditLog;
};

/** Who asks (`alice@host`, `api:NAME`) and from where (a REST client's address). */
export type TokenActor = {caller: string; source?: string};

/**
 * `operator`: an operator's own token, which approval rules can name as an approver; without
 * scripts or a selector it may run every script on every agent (as the controller's account can).
 */
export type TokenRequest = {name: string | undefined; scripts: readonly string[]; on: readonly string[]; expires?: string | undefined; operator?: boolean};

export type CreatedToken = {token: string; id: string; name: string; scripts: string[]; on: string[]; expiresAt: string | null; operator: boolean};

export type TokenView = Omit<TokenRecord, 'hash'> & {state: 'active' | 'revoked' | 'expired'};

const tokenNamePattern = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export async function createToken(ports: TokenPorts, request: TokenRequest, actor: TokenActor): Promise<CreatedToken> {
	const {name} = request;
	if (!name || !tokenNamePattern.test(name)) {
		throw new XiError('USAGE', `the token name ${JSON.stringify(name ?? '')} must match [a-z0-9][a-z0-9._-]*, for example contractor-acme.`);
	}

	const listed = request.scripts.map(script => script.trim()).filter(script => script.length > 0);
	const scripts = listed.length === 0 && request.operator ? ['*'] : listed;
	const badScript = scripts.find(script => script !== '*' && (!isScriptName(script) || hasControl(script)));
	if (scripts.length === 0 || badScript !== undefined) {
		throw new XiError('USAGE', `the scripts must be script names (or *)${badScript === undefined ? '' : `; ${JSON.stringify(badScript)} is not one`}.`);
	}

	const on = request.on.length === 0 && request.operator ? ['all'] : [...request.on];
	const operator = request.operator === true;
	const selector = parseSelector(on);
	if (!selector.ok) {
		throw new XiError('SELECTOR_INVALID', `the selector: ${selector.reason}.`);
	}

	const expires = request.expires === undefined ? undefined : parseExpiry(request.expires, ports.now);
	if (typeof expires === 'string') {
		throw new XiError('USAGE', `${expires}.`);
	}

	const {token, hash, id} = newToken();
	const record: TokenRecord = {id, name, hash, scripts, on, createdAt: ports.now.toISOString(), expiresAt: expires?.toISOString() ?? null, revokedAt: null, ...(operator ? {operator} : {})};
	const store = openTokenStore(ports.paths.home);
	const refuseDuplicate = (tokens: readonly TokenRecord[]) => {
		if (tokens.some(existing => existing.name === name && existing.revokedAt === null)) {
			throw new XiError('USAGE', `A token named ${name} exists; revoke it first or choose another name.`);
		}
	};

	// Checked on what is there now before anything is recorded, and again under the store's lock.
	refuseDuplicate((await store.read()).tokens);
	await withControllerAudit(ports.paths, ports.audit, async log => {
		await log.append({event: 'token.created', id, name, scripts, on, expiresAt: record.expiresAt, operator: operator || undefined, caller: actor.caller, source: actor.source});
		await store.update(file => {
			refuseDuplicate(file.tokens);
			return {...file, tokens: [...file.tokens, record]};
		});
	});
	return {token, id, name, scripts, on, expiresAt: record.expiresAt, operator};
}

export async function listTokens(ports: Pick<TokenPorts, 'paths' | 'now'>): Promise<TokenView[]> {
	const {tokens} = await openTokenStore(ports.paths.home).read();
	return tokens.map(({hash: _hash, ...token}) => ({
		...token,
		operator: token.operator === true,
		state: token.revokedAt ? 'revoked' : (token.expiresAt && new Date(token.expiresAt) <= ports.now ? 'expired' : 'active'),
	}));
}

export async function revokeToken(ports: TokenPorts, name: string | undefined, actor: TokenActor): Promise<{id: string; name: string}> {
	const store = openTokenStore(ports.paths.home);
	const active = (tokens: readonly TokenRecord[]) => tokens.find(token => token.name === name && token.revokedAt === null);
	const target = active((await store.read()).tokens);
	if (!target) {
		throw new XiError(name ? 'TOKEN_UNKNOWN' : 'USAGE', `No active token named ${JSON.stringify(name ?? '')}; \`xi-exec token list\` shows them.`);
	}

	await withControllerAudit(ports.paths, ports.audit, async log => {
		await log.append({event: 'token.revoked', id: target.id, name: target.name, scripts: target.scripts, on: target.on, caller: actor.caller, source: actor.source});
		await store.update(file => ({...file, tokens: file.tokens.map(token => token.id === target.id && token.revokedAt === null ? {...token, revokedAt: ports.now.toISOString()} : token)}));
	});
	return {id: target.id, name: target.name};
}
