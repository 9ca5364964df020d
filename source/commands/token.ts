/**
 * `xi-exec token create|list|revoke`: scoped bearer tokens for contractors, pipelines and the API.
 * Creating and revoking are audited before they take effect (`token.created`, `token.revoked`:
 * who, the token's id, name and scope; never the token): when the record cannot be written the
 * command fails with AUDIT_UNAVAILABLE and the token store is unchanged.
 */
import {withControllerAudit} from '../audit/controller-log.js';
import type {AuditLog} from '../audit/file-log.js';
import {XiError} from '../errors.js';
import {parseSelector} from '../policy/selector.js';
import {openTokenStore} from '../policy/token-store.js';
import {newToken, parseExpiry, type TokenRecord} from '../policy/tokens.js';
import {hasControl, isScriptName} from '../protocol/text-checks.js';
import type {ControllerPaths} from '../home.js';
import {defaultCaller, type CommandIo} from './run.js';
import {safeJson} from '../output/visible.js';

/** `caller` and `source` say who asked (the REST API passes its token's name and the client's address). */
export type TokenCaller = {caller?: string; source?: string};
export type TokenCreateInput = TokenCaller & {name?: string; scripts?: string; on: string[]; expires?: string; json: boolean};

const tokenNamePattern = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export async function tokenCreate(paths: ControllerPaths, input: TokenCreateInput, io: CommandIo, now = new Date(), audit?: AuditLog): Promise<number> {
	if (!input.name || !tokenNamePattern.test(input.name)) {
		throw new XiError('USAGE', `--name ${JSON.stringify(input.name ?? '')} must match [a-z0-9][a-z0-9._-]*, for example --name contractor-acme.`);
	}

	const scripts = (input.scripts ?? '').split(',').map(script => script.trim()).filter(script => script.length > 0);
	const badScript = scripts.find(script => script !== '*' && (!isScriptName(script) || hasControl(script)));
	if (scripts.length === 0 || badScript !== undefined) {
		throw new XiError('USAGE', `--scripts must list script names separated by commas (or *)${badScript === undefined ? '' : `; ${JSON.stringify(badScript)} is not one`}.`);
	}

	const selector = parseSelector(input.on);
	if (!selector.ok) {
		throw new XiError('SELECTOR_INVALID', `--on: ${selector.reason}.`);
	}

	const expires = input.expires === undefined ? undefined : parseExpiry(input.expires, now);
	if (typeof expires === 'string') {
		throw new XiError('USAGE', `${expires}.`);
	}

	const {token, hash, id} = newToken();
	const record: TokenRecord = {id, name: input.name, hash, scripts, on: input.on, createdAt: now.toISOString(), expiresAt: expires?.toISOString() ?? null, revokedAt: null};
	const store = openTokenStore(paths.home);
	const refuseDuplicate = (tokens: readonly TokenRecord[]) => {
		if (tokens.some(existing => existing.name === record.name && existing.revokedAt === null)) {
			throw new XiError('USAGE', `A token named ${record.name} exists; revoke it first or choose another name.`);
		}
	};

	// Checked on what is there now before anything is recorded, and again under the store's lock.
	refuseDuplicate((await store.read()).tokens);
	await withControllerAudit(paths, audit, async log => {
		await log.append({event: 'token.created', id, name: record.name, scripts, on: input.on, expiresAt: record.expiresAt, caller: input.caller ?? defaultCaller(), source: input.source});
		await store.update(file => {
			refuseDuplicate(file.tokens);
			return {...file, tokens: [...file.tokens, record]};
		});
	});
	if (input.json) {
		io.stdout(safeJson({token, id, name: record.name, scripts, on: input.on, expiresAt: record.expiresAt}) + '\n');
	} else {
		io.stdout(`${token}\n`);
		io.stderr(`Token ${record.name} (id ${id}) for ${scripts.join(', ')} on --on ${input.on.join(' --on ')}${record.expiresAt ? `, until ${record.expiresAt}` : ', no expiry'}.\nThis is the only time it is shown: only its hash is stored. Pass it as XI_EXEC_TOKEN or --token-file.\n`);
	}

	return 0;
}

export async function tokenList(paths: ControllerPaths, input: {json: boolean}, io: CommandIo, now = new Date()): Promise<number> {
	const {tokens} = await openTokenStore(paths.home).read();
	const views = tokens.map(({hash: _hash, ...token}) => ({...token, state: token.revokedAt ? 'revoked' : (token.expiresAt && new Date(token.expiresAt) <= now ? 'expired' : 'active')}));
	if (input.json) {
		io.stdout(safeJson({tokens: views}, 2) + '\n');
		return 0;
	}

	if (views.length === 0) {
		io.stdout('No tokens. Create one with `xi-exec token create --name NAME --scripts a,b --on SELECTOR`.\n');
	}

	for (const view of views) {
		io.stdout(`${view.name.padEnd(20)} ${view.state.padEnd(8)} ${view.id}  scripts ${view.scripts.join(',')}  on ${view.on.join(' | ')}  expires ${view.expiresAt ?? 'never'}\n`);
	}

	return 0;
}

export async function tokenRevoke(paths: ControllerPaths, name: string | undefined, io: CommandIo, now = new Date(), options: TokenCaller & {audit?: AuditLog} = {}): Promise<number> {
	const store = openTokenStore(paths.home);
	const active = (tokens: readonly TokenRecord[]) => tokens.find(token => token.name === name && token.revokedAt === null);
	const target = active((await store.read()).tokens);
	if (!target) {
		throw new XiError(name ? 'TOKEN_UNKNOWN' : 'USAGE', `No active token named ${JSON.stringify(name ?? '')}; \`xi-exec token list\` shows them.`);
	}

	await withControllerAudit(paths, options.audit, async log => {
		await log.append({event: 'token.revoked', id: target.id, name: target.name, scripts: target.scripts, on: target.on, caller: options.caller ?? defaultCaller(), source: options.source});
		await store.update(file => ({...file, tokens: file.tokens.map(token => token.id === target.id && token.revokedAt === null ? {...token, revokedAt: now.toISOString()} : token)}));
	});

	io.stdout(`Revoked ${name}: it stops working on the next call, on every host.\n`);
	return 0;
}
