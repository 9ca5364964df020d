/** The JSON Schemas of the runbook routes (a declared table): the run body, the 202 answer, the events' data. */
import {errorSchema, type JsonSchema} from './schemas.js';

export const errors = {'4xx': errorSchema, '5xx': errorSchema};
export const name = {type: 'string', pattern: '^[a-z0-9][a-z0-9._-]{0,63}$', maxLength: 64};
export const id = {type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$', maxLength: 64};
export const anyObject: JsonSchema = {type: 'object'};
export const runBody = (params: JsonSchema): JsonSchema => ({
	type: 'object',
	additionalProperties: false,
	properties: {
		params,
		dryRun: {type: 'boolean', default: false, description: 'Check the runbook and ask every host of every step whether it would run (the plan with each host\'s policy answer); nothing runs.'},
		wait: {type: 'boolean', default: true, description: 'false: answer 202 at once and follow GET /v1/runbook-runs/{id}/events.'},
		yes: {type: 'boolean', default: false, description: 'Confirm `confirm` scripts and go on after good canaries (no one can be asked over the API).'},
		noWait: {type: 'boolean', default: false, description: 'A step that needs two-person approval does not hold the run: it ends `waiting` (the run too, with the request\'s id on the step), and POST /v1/runbook-runs/{id}/resume continues it under the same request once approved.'},
	},
});
export const genericParams: JsonSchema = {type: 'object', maxProperties: 64, description: 'The runbook\'s parameters by name (GET /openapi.json has each runbook\'s own schema).'};
export const accepted: JsonSchema = {type: 'object', required: ['id', 'events', 'run'], properties: {id, events: {type: 'string'}, run: {type: 'string'}}};
const stepName = {type: 'string', pattern: '^[a-z0-9][a-z0-9._-]{0,63}$'};
const event = (type: string, properties: Record<string, JsonSchema>, optional: Record<string, JsonSchema> = {}): JsonSchema => ({type: 'object', required: ['type', ...Object.keys(properties)], properties: {type: {const: type}, ...properties, ...optional}});
const outcome: JsonSchema = {
	type: 'object',
	required: ['status', 'counts', 'hosts'],
	properties: {
		status: {enum: ['ok', 'failed', 'skipped', 'cancelled', 'error', 'waiting']},
		requestId: {type: 'string'},
		counts: {type: 'object', additionalProperties: {type: 'integer'}},
		hosts: {type: 'object', properties: {ok: {type: 'array', items: {type: 'string'}}, failed: {type: 'array', items: {type: 'string'}}}},
		reason: {type: 'string'},
		code: {type: 'string'},
	},
};
/** The `data` of one runbook run event (its `event` field repeats `type`). */
export const runbookEventSchema: JsonSchema = {
	oneOf: [
		event('step-started', {step: stepName, requestId: id, script: {type: 'string'}, on: {type: 'array', items: {type: 'string'}}}),
		event('step-waiting', {step: stepName, requestId: id, approval: {type: 'object', required: ['id', 'needs', 'expiresAt'], properties: {id, needs: {type: 'string', description: 'Who must approve, in words.'}, expiresAt: {type: 'string', format: 'date-time'}}, description: 'The approval request the step waits for: `POST /v1/approvals/{id}/approve` with another operator\'s token.'}}),
		event('step-finished', {step: stepName, outcome}),
		event('runbook-finished', {status: {enum: ['ok', 'failed', 'cancelled', 'waiting']}, notRun: {type: 'array', items: {type: 'object', properties: {step: stepName, reason: {type: 'string'}}}}}, {reason: {type: 'string'}}),
	],
	description: 'The `data` of one Server-Sent Event; its `event` field repeats `type`.',
};
