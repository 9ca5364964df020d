/** The audit resource's schemas: the query and the records it answers. Pure. */
import {agentName, object, requestId, text, timestamp, type JsonSchema} from './schema-parts.js';

export const auditQuerySchema: JsonSchema = object({
	request: requestId,
	agent: agentName,
	since: text(20, {pattern: '^\\d+[smhd]$', description: 'Only records newer than this: 30m, 1h, 7d.'}),
	limit: {type: 'integer', minimum: 1, maximum: 10_000, default: 1000, description: 'At most this many records, the newest.'},
}, []);

export const auditListSchema: JsonSchema = object({
	records: {
		type: 'array',
		items: {type: 'object', required: ['event', 'seq', 'ts', 'side'], properties: {event: {type: 'string'}, seq: {type: 'integer'}, ts: timestamp, side: {enum: ['controller', 'agent']}}},
	},
});
