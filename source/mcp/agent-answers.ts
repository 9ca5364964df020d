/**
 * How `list_agents` shows an agent: the core's agent view (core/agents-view.ts, the document
 * `xi-exec agents --json` and GET /v1/agents answer), with what the agent supplied made one visible,
 * capped line (reasons, descriptions, its schema's texts: data, never instructions), and for each
 * script the MCP tool that runs it (null when this token has none) and whether the agent declares
 * it read-only. Pure.
 */
import type {AgentScriptView, AgentView} from '../core/agents-view.js';
import type {Discovered} from '../dispatch/discover.js';
import {dataResult, type ToolResult} from './results.js';
import type {JsonSchema} from './tools.js';
import {oneLine, sanitiseSchemaText} from './untrusted-text.js';

const textCap = 300;

export type McpScriptView = AgentScriptView & {tool: string | null; readOnly: boolean};
export type McpAgentView = Omit<AgentView, 'scripts'> & {scripts: McpScriptView[]};

export function mcpAgentView(view: AgentView, found: Discovered, toolOf: ReadonlyMap<string, string>): McpAgentView {
	const readOnly = new Set(found.scripts.filter(script => script.readOnly === true).map(script => script.name));
	return {
		...view,
		reason: view.reason === null ? null : oneLine(view.reason, textCap),
		scripts: view.scripts.map(script => ({
			...script,
			description: oneLine(script.description, textCap),
			args: sanitiseSchemaText(script.args, textCap),
			schemaProblem: script.schemaProblem === null ? null : oneLine(script.schemaProblem, textCap),
			tool: toolOf.get(script.name) ?? null,
			readOnly: readOnly.has(script.name),
		})),
	};
}

export function agentListResult(views: readonly McpAgentView[], hidden: unknown): ToolResult {
	const reachable = views.filter(view => view.status === 'reachable').length;
	return dataResult(`${views.length} ${views.length === 1 ? 'agent' : 'agents'} in scope, ${reachable} reachable.`, {agents: views, hidden});
}

const nullableString: JsonSchema = {anyOf: [{type: 'string'}, {type: 'null'}]};
const tags: JsonSchema = {type: 'object', additionalProperties: {type: 'string'}};

const scriptSchema: JsonSchema = {
	type: 'object',
	properties: {
		name: {type: 'string'},
		tool: {...nullableString, description: 'The tool that runs it for this token (null when none: a name another script took).'},
		description: {type: 'string'},
		timeoutSeconds: {type: 'integer'},
		args: {anyOf: [{type: 'object'}, {type: 'boolean'}, {type: 'null'}], description: 'The argument schema the agent advertises (a JSON Schema, its texts made one visible line), or null.'},
		schemaProblem: {...nullableString, description: 'Why the controller refuses the advertised schema (the script is then refused).'},
		maxTargets: {anyOf: [{type: 'integer'}, {type: 'null'}]},
		confirm: {type: 'boolean'},
		readOnly: {type: 'boolean'},
	},
	required: ['name', 'tool', 'description', 'timeoutSeconds', 'args', 'schemaProblem', 'maxTargets', 'confirm', 'readOnly'],
	additionalProperties: false,
};

/** The structured result of `list_agents`: the core's agent view with the MCP's own fields (core/agents-view.ts AgentView). */
export const agentListSchema: JsonSchema & {type: 'object'} = {
	type: 'object',
	properties: {
		agents: {
			type: 'array',
			items: {
				type: 'object',
				properties: {
					name: {type: 'string'},
					address: {type: 'string'},
					tags,
					reportedTags: {anyOf: [tags, {type: 'null'}], description: 'The tags the agent reports about itself; the registry\'s decide.'},
					drifted: {type: 'boolean'},
					status: {type: 'string', enum: ['reachable', 'unreachable']},
					reason: nullableString,
					transport: {type: 'string', enum: ['tls', 'nats', 'both']},
					lastSeen: nullableString,
					lastSeenVia: {anyOf: [{type: 'string', enum: ['tls', 'relay']}, {type: 'null'}]},
					relayPresence: {
						anyOf: [{
							type: 'object',
							properties: {state: {type: 'string', enum: ['seen', 'not-seen', 'unwatched']}, lastHeartbeat: nullableString, broker: nullableString},
							required: ['state', 'lastHeartbeat', 'broker'],
							additionalProperties: false,
						}, {type: 'null'}],
						description: 'A relay agent\'s last valid signed presence heartbeat: seen (within 60 s), not-seen, or unwatched (xi-exec serve is not watching its broker); null on direct TLS.',
					},
					certificateExpires: {type: 'string'},
					scripts: {type: 'array', items: scriptSchema},
				},
				required: ['name', 'address', 'tags', 'reportedTags', 'drifted', 'status', 'reason', 'transport', 'lastSeen', 'lastSeenVia', 'relayPresence', 'certificateExpires', 'scripts'],
				additionalProperties: false,
			},
		},
		hidden: {type: 'array', items: {type: 'object', properties: {script: {type: 'string'}, reason: {type: 'string'}}, required: ['script', 'reason'], additionalProperties: false}},
	},
	required: ['agents', 'hidden'],
	additionalProperties: false,
};
