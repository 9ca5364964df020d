/**
 * The scripts on the reachable agents, as discovery found them: each script name with one variant
 * per distinct argument schema (and the agents that advertise it). The OpenAPI document and the
 * per-script route's validation are both built from these objects. Pure.
 */
import type {ValidateFunction} from 'ajv/dist/2020.js';
import type {Discovered} from '../dispatch/discover.js';
import {isScriptName} from '../protocol/text-checks.js';
import {compileAdvertisedSchema} from './advertised-schema.js';

export type ScriptVariant = {
	/** The advertised schema, or undefined when the agents advertise none. */
	schema?: Record<string, unknown>;
	validate?: ValidateFunction;
	agents: string[];
	description: string;
	timeoutSeconds: number;
};

export type CatalogScript = {name: string; variants: ScriptVariant[]};

export type SchemaProblem = {agent: string; script: string; reason: string};

export type Catalog = {scripts: CatalogScript[]; problems: SchemaProblem[]};

export function buildCatalog(found: readonly Discovered[], allowScript: (script: string) => boolean = () => true): Catalog {
	const byName = new Map<string, Map<string, ScriptVariant>>();
	const problems: SchemaProblem[] = [];
	for (const agent of found) {
		if (agent.status !== 'reachable') {
			continue;
		}

		for (const script of agent.scripts) {
			if (typeof script?.name !== 'string' || !isScriptName(script.name) || !allowScript(script.name)) {
				continue;
			}

			let key = '';
			let schema: Record<string, unknown> | undefined;
			let validate: ValidateFunction | undefined;
			if (script.args !== undefined) {
				const compiled = compileAdvertisedSchema(script.args);
				if (!compiled.ok) {
					problems.push({agent: agent.name, script: script.name, reason: compiled.reason});
					continue;
				}

				({key, schema, validate} = compiled);
			}

			const variants = byName.get(script.name) ?? new Map<string, ScriptVariant>();
			const variant = variants.get(key) ?? {
				...(schema ? {schema, validate} : {}),
				agents: [],
				description: typeof script.description === 'string' ? script.description : '',
				timeoutSeconds: Number.isInteger(script.timeoutSeconds) ? script.timeoutSeconds : 30,
			};
			variant.agents.push(agent.name);
			variants.set(key, variant);
			byName.set(script.name, variants);
		}
	}

	const scripts = [...byName.entries()]
		.sort(([a], [b]) => a.localeCompare(b))
		.map(([name, variants]) => ({name, variants: [...variants.values()].sort((a, b) => a.agents[0]!.localeCompare(b.agents[0]!))}));
	return {scripts, problems};
}

/** The variant an agent advertises for a script, if it advertises the script at all. */
export function variantFor(script: CatalogScript, agent: string): ScriptVariant | undefined {
	return script.variants.find(variant => variant.agents.includes(agent));
}
