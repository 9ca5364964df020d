/** The policy endpoint's schemas: the hook context an agent's reference hook sends, and the answer. Pure. */
import {agentName, genericArgsSchema, object, requestId, scriptName, tagsSchema, text, type JsonSchema} from './schema-parts.js';

/** What the agent's reference hook sends: the hook context (issue 4). Extra fields are ignored. */
export const policyContextSchema: JsonSchema = {
	type: 'object',
	required: ['requestId', 'agent', 'script', 'args', 'caller', 'token', 'source', 'timestamp', 'dryRun'],
	properties: {
		requestId,
		agent: {type: 'object', required: ['name', 'tags'], properties: {name: agentName, tags: tagsSchema}},
		script: scriptName,
		args: genericArgsSchema,
		caller: text(1024),
		token: {
			type: ['object', 'null'],
			required: ['id'],
			properties: {id: text(32), name: text(63)},
			description: 'The caller\'s token id and scope (never the token), or null for a run without a token.',
		},
		source: text(128, {description: 'The source address the agent saw.'}),
		timestamp: {type: ['string', 'number']},
		dryRun: {type: 'boolean'},
		approval: {
			type: ['object', 'null'],
			required: ['id', 'approvers', 'at', 'planHash'],
			properties: {
				id: text(64),
				approvers: {type: 'array', maxItems: 10, items: text(63)},
				at: text(40),
				planHash: text(64, {pattern: '^[0-9a-f]{64}$'}),
				entryDigest: text(64, {pattern: '^[0-9a-f]{64}$', description: 'The digest the approved plan holds of this agent\'s allowlist entry for the script (the agent has checked it against its entry).'}),
			},
			description: 'The two-person approval the run executes, as the controller sent it to the agent; null or absent without one.',
		},
	},
	description: 'The hook context an agent\'s reference hook sends before a run.',
};

export const policyAnswerSchema: JsonSchema = object({allow: {type: 'boolean'}, reason: text(4096)});
