/**
 * `xi-exec token create|list|revoke`: the token use cases (core/tokens.ts), worded for a terminal.
 * Scoped bearer tokens for contractors, pipelines and the API.
 */
import type {AuditLog} from '../audit/file-log.js';
import {createToken, listTokens, revokeToken} from '../core/tokens.js';
import type {ControllerPaths} from '../home.js';
import {defaultCaller, type CommandIo} from '../io/command-io.js';
import {safeJson} from '../output/visible.js';

/** `caller` and `source` say who asked. */
export type TokenCaller = {caller?: string; source?: string};
export type TokenCreateInput = TokenCaller & {name?: string; scripts?: string; on: string[]; expires?: string; operator?: boolean; json: boolean};

export async function tokenCreate(paths: ControllerPaths, input: TokenCreateInput, io: CommandIo, now = new Date(), audit?: AuditLog): Promise<number> {
	const created = await createToken(
		{paths, now, ...(audit ? {audit} : {})},
		{name: input.name, scripts: (input.scripts ?? '').split(','), on: input.on, expires: input.expires, ...(input.operator ? {operator: true} : {})},
		{caller: input.caller ?? defaultCaller(), ...(input.source === undefined ? {} : {source: input.source})},
	);
	if (input.json) {
		const {token, id, name, scripts, on, expiresAt, operator} = created;
		io.stdout(safeJson({token, id, name, scripts, on, expiresAt, operator}) + '\n');
	} else {
		io.stdout(`${created.token}\n`);
		io.stderr(`${created.operator ? 'Operator token' : 'Token'} ${created.name} (id ${created.id}) for ${created.scripts.join(', ')} on --on ${created.on.join(' --on ')}${created.expiresAt ? `, until ${created.expiresAt}` : ', no expiry'}.\nThis is the only time it is shown: only its hash is stored. Pass it as XI_EXEC_TOKEN or --token-file.\n`);
	}

	return 0;
}

export async function tokenList(paths: ControllerPaths, input: {json: boolean}, io: CommandIo, now = new Date()): Promise<number> {
	const views = await listTokens({paths, now});
	if (input.json) {
		io.stdout(safeJson({tokens: views}, 2) + '\n');
		return 0;
	}

	if (views.length === 0) {
		io.stdout('No tokens. Create one with `xi-exec token create --name NAME --scripts a,b --on SELECTOR`.\n');
	}

	for (const view of views) {
		io.stdout(`${view.name.padEnd(20)} ${view.state.padEnd(8)} ${view.id}${view.operator ? '  operator' : ''}  scripts ${view.scripts.join(',')}  on ${view.on.join(' | ')}  expires ${view.expiresAt ?? 'never'}\n`);
	}

	return 0;
}

export async function tokenRevoke(paths: ControllerPaths, name: string | undefined, io: CommandIo, now = new Date(), options: TokenCaller & {audit?: AuditLog} = {}): Promise<number> {
	await revokeToken(
		{paths, now, ...(options.audit ? {audit: options.audit} : {})},
		name,
		{caller: options.caller ?? defaultCaller(), ...(options.source === undefined ? {} : {source: options.source})},
	);
	io.stdout(`Revoked ${name}: it stops working on the next call, on every host.\n`);
	return 0;
}
