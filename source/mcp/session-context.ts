/**
 * What every tool of one MCP session shares: who calls (`mcp:NAME`, the client as it declared
 * itself), the token's scope as the store has it now (a revoked or expired token fails at the next
 * request), the agents and tools in that scope, the `mcp.call` audit record, and which runs are
 * this token's own. The tools (agent-tools.ts, run-tools.ts, script-tools.ts) get this; none of
 * them holds state of its own.
 */
import type {Server} from '@modelcontextprotocol/sdk/server/index.js';
import type {DiscoveryCache} from '../core/discovery-cache.js';
import {buildCatalog} from '../core/script-catalog.js';
import {XiError} from '../errors.js';
import {findRun, historyDirectory} from '../history/run-store.js';
import {authenticateToken, reachProblem, scopeAllowsScript, scopeOf, type TokenScope} from '../policy/tokens.js';
import {hasControl} from '../protocol/text-checks.js';
import type {AgentRecord} from '../registry/model.js';
import type {McpCaller, McpPorts} from './session-ports.js';
import {buildToolSet, type ToolSet} from './tools.js';
import {oneLine} from './untrusted-text.js';

export type Found = Awaited<ReturnType<DiscoveryCache['discover']>>;

export type SessionContext = {
	ports: McpPorts;
	caller: McpCaller;
	/** The scope the session was opened with (its id decides which runs are its own). */
	scope: TokenScope;
	/** `mcp:NAME`: the caller in audit records and run histories. */
	who: string;
	/** `{source}` when the client has an address, else nothing: spread into requests. */
	source: {source?: string};
	/** The client as it declared itself, made one visible line, and the transport. */
	client: () => string;
	/** The token as the store has it now. */
	currentScope: () => Promise<TokenScope>;
	inScope: (current: TokenScope) => Promise<AgentRecord[]>;
	toolSet: (current: TokenScope) => Promise<{set: ToolSet; found: Found}>;
	/** Appends an `mcp.call` record; a record that cannot be written is logged, not thrown. */
	audit: (fields: Record<string, unknown>) => Promise<void>;
	/** The ports of the run flow (plan, approvals). */
	planPorts: () => {paths: McpPorts['paths']; registry: McpPorts['registry']; audit: () => McpPorts['audit']; context: ReturnType<McpPorts['context']>; now: () => Date};
	/** The recorded run, when this token started it; an OUT_OF_SCOPE refusal otherwise. */
	/** `keep`: each host's stream read only to its beginning (history's foldRun). */
	ownRun: (requestId: string, keep?: Parameters<typeof findRun>[2]) => ReturnType<typeof findRun>;
	isOwn: (header: {caller: string; token?: {id: string}}) => boolean;
};

export function createSessionContext(ports: McpPorts, caller: McpCaller, scope: TokenScope, server: Server): SessionContext {
	const who = `mcp:${scope.name}`;
	const client = (): string => {
		const declared = server.getClientVersion();
		const name = declared ? `${declared.name} ${declared.version}` : 'unnamed client';
		return `${hasControl(name) ? oneLine(name, 120) : name.slice(0, 120)} over ${caller.transport}`;
	};

	const inScope = async (current: TokenScope) => {
		const registry = await ports.registry.read();
		return registry.agents.filter(agent => reachProblem(current, [agent]) === undefined);
	};

	/**
	 * A run is this token's when the token it was asked with is this one, by id: a token re-created
	 * under a revoked one's name (perhaps with another scope) sees none of the old token's runs.
	 */
	const isOwn = (header: {caller: string; token?: {id: string}}) => header.caller === who && header.token?.id === scope.id;

	return {
		ports,
		caller,
		scope,
		who,
		source: caller.source ? {source: caller.source} : {},
		client,
		async currentScope() {
			const check = authenticateToken(await ports.tokens(), caller.token, ports.now());
			if (!check.ok) {
				throw new XiError('TOKEN_INVALID', `Token refused: ${check.reason}.`);
			}

			return scopeOf(check.token);
		},
		inScope,
		async toolSet(current) {
			const agents = await inScope(current);
			const found = await ports.discovery.discover(agents, {maxAgeMs: ports.discoveryMaxAgeMs});
			return {set: buildToolSet(buildCatalog(found, script => scopeAllowsScript(current, script)), found), found};
		},
		async audit(fields) {
			await ports.audit.append({event: 'mcp.call', caller: who, client: client(), transport: caller.transport, source: caller.source, ...fields}).catch((error: unknown) => {
				ports.log(`the audit record of an MCP call could not be written: ${(error as Error).message}`);
			});
		},
		planPorts: () => ({paths: ports.paths, registry: ports.registry, audit: () => ports.audit, context: ports.context(), now: ports.now}),
		isOwn,
		ownRun(requestId, keep) {
			const run = findRun(historyDirectory(ports.paths), requestId, keep);
			if (!isOwn(run.header)) {
				throw new XiError('OUT_OF_SCOPE', `Refused: run ${requestId} was not started by this token (${who}); a token sees and cancels only its own runs.`);
			}

			return run;
		},
	};
}
