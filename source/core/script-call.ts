/**
 * The checks a typed script call gets before its run is planned (the REST API's per-script route,
 * the MCP face's script tools): the token's scope against the selected agents first, before anything
 * is dialled (a refusal is audited as the run flow audits its own), then the script as the
 * selected agents advertise it, and the arguments against each selected agent's own schema.
 */
import {randomUUID} from 'node:crypto';
import {argsHash} from '../audit/record.js';
import type {AuditLog} from '../audit/file-log.js';
import {XiError} from '../errors.js';
import {checkScope, type TokenScope} from '../policy/tokens.js';
import {describeSchemaError} from '../protocol/args-schema.js';
import type {AgentRecord, Registry} from '../registry/model.js';
import {resolveTargets} from '../registry/resolve-targets.js';
import type {Discovered} from '../dispatch/discover.js';
import type {DiscoveryCache} from './discovery-cache.js';
import {buildCatalog, variantFor, type CatalogScript} from './script-catalog.js';

export type ScriptCall = {script: string; args: readonly string[]; on: readonly string[]; scope: TokenScope; caller: string; source?: string; client?: string};

/** How the face names what the refusals are about: the arguments' field, and where its caller finds the scripts there are. */
export type ScriptCallWords = {argsField: string; scriptsListed?: string};

const mcpWords: ScriptCallWords = {argsField: 'args'};

export type ScriptCallPorts = {registry: () => Promise<Registry>; audit: AuditLog; discovery: DiscoveryCache; discoveryMaxAgeMs: number};

/** Refuses a call outside the token's scope, for a script no selected agent advertises, or with arguments a selected agent's schema rejects. */
export async function checkScriptCall(ports: ScriptCallPorts, call: ScriptCall, words: ScriptCallWords = mcpWords): Promise<{targets: AgentRecord[]; entry: CatalogScript}> {
	const targets = resolveTargets(await ports.registry(), call.on);
	const problem = checkScope(call.scope, call.script, targets);
	if (problem) {
		const reason = `Refused before running anything: ${problem}.`;
		// Recorded as the run flow records its own refusals; if even that fails, the refusal stands.
		await ports.audit.append({event: 'run.refused', requestId: randomUUID(), script: call.script, argsHash: argsHash(call.args), caller: call.caller, source: call.source, client: call.client, selector: [...call.on], code: 'OUT_OF_SCOPE', reason}).catch(() => undefined);
		throw new XiError('OUT_OF_SCOPE', reason);
	}

	const found = await ports.discovery.discover(targets, {maxAgeMs: ports.discoveryMaxAgeMs});
	const entry = buildCatalog(found, name => name === call.script).scripts[0];
	if (!entry) {
		throw new XiError('SCRIPT_UNKNOWN', `No reachable selected agent has ${call.script} on its allowlist${words.scriptsListed === undefined ? '' : ` (${words.scriptsListed} lists the scripts there are)`}.${silentAgents(found)}`);
	}

	for (const target of targets) {
		const variant = variantFor(entry, target.name);
		if (variant?.validate && !variant.validate(call.args)) {
			throw new XiError('ARGS_INVALID', `${words.argsField}: ${describeSchemaError(variant.validate)}, by the argument schema ${target.name} advertises for ${call.script}.`);
		}
	}

	return {targets, entry};
}

/** The selected agents that did not answer, and why: a script "unknown" only because its hosts were out of reach says so. */
function silentAgents(found: readonly Discovered[]): string {
	const silent = found.filter(agent => agent.status === 'unreachable');
	return silent.length === 0 ? '' : ` Not answering: ${silent.map(agent => `${agent.name} (${agent.reason ?? 'unreachable'})`).join(', ')}; try again when they are reachable.`;
}
