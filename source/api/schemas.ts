/**
 * The JSON Schemas (2020-12) of every body, query, path parameter and response of the REST API.
 * Fastify validates requests and responses with these objects, and the OpenAPI document publishes
 * the very same objects: one source of truth. Pure.
 *
 * One file per resource (run-, agent-, token-, audit-, policy-, service-schemas.ts; runbooks have
 * runbook-schemas.ts) over the shared parts (schema-parts.ts); this entry exports them all and
 * names the shared ones for the document's components.
 */
import {agentViewSchema, scriptViewSchema} from './agent-schemas.js';
import {policyAnswerSchema, policyContextSchema} from './policy-schemas.js';
import {acceptedSchema, approvalPendingErrorSchema, cancelAnswerSchema, dryRunDocumentSchema, resultSchema, runBodySchema, runDocumentSchema, runEventSchema, runSummarySchema, scriptRunBody} from './run-schemas.js';
import {errorSchema, genericArgsSchema, selectorSchema, tagsSchema, type JsonSchema} from './schema-parts.js';
import {tokenCreatedSchema, tokenViewSchema} from './token-schemas.js';

export * from './agent-schemas.js';
export * from './audit-schemas.js';
export * from './policy-schemas.js';
export * from './run-schemas.js';
export {agentName, errorSchema, genericArgsSchema, requestId, scriptName, selectorSchema, tagsSchema, type JsonSchema} from './schema-parts.js';
export * from './service-schemas.js';
export * from './token-schemas.js';

/** Names under which shared schemas appear in the document's components. */
export const namedSchemas: Record<string, JsonSchema> = {
	Error: errorSchema,
	ApprovalPendingError: approvalPendingErrorSchema,
	Selector: selectorSchema,
	Tags: tagsSchema,
	Arguments: genericArgsSchema,
	RunRequest: runBodySchema,
	ScriptRunRequest: scriptRunBody,
	RunDocument: runDocumentSchema,
	DryRunDocument: dryRunDocumentSchema,
	AgentResult: resultSchema,
	RunAccepted: acceptedSchema,
	CancelAnswer: cancelAnswerSchema,
	RunSummary: runSummarySchema,
	RunEvent: runEventSchema,
	Agent: agentViewSchema,
	Script: scriptViewSchema,
	Token: tokenViewSchema,
	TokenCreated: tokenCreatedSchema,
	PolicyContext: policyContextSchema,
	PolicyAnswer: policyAnswerSchema,
};
