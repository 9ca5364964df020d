/**
 * The REST API's /v1/approvals routes and their handlers: the approvals face (approvals/face.ts)
 * for the caller's bearer token, as `xi-exec approvals|approve|reject` is for the CLI. Operator
 * tokens and tokens whose scope is everything see every request; any other token sees the
 * requests it made; only an operator token the rule names approves, and never the requester's.
 * Refusals are the use case's XiErrors (404 APPROVAL_UNKNOWN, 403 APPROVAL_SELF or
 * APPROVER_NOT_ALLOWED, 409 APPROVAL_CLOSED, APPROVAL_USED or APPROVAL_PLAN_CHANGED, 410
 * APPROVAL_EXPIRED), each also an `approval.refused` record.
 */
import type {FastifyRequest} from 'fastify';
import {createApprovalsFace} from '../approvals/face.js';
import type {ApprovalRequest} from '../approvals/request.js';
import {claimForRun} from '../approvals/gated-run.js';
import {resolvePlanHashWith} from '../approvals/resolve-again.js';
import {XiError} from '../errors.js';
import type {Caller} from './auth.js';
import {tokenCaller, type TokenCaller} from './caller-scope.js';
import type {ApiPorts, Handler, RouteFile} from './route-file.js';
import {errorResponses, type RouteSpec} from './route-spec.js';
import {acceptedSchema, approvalNeedsSchema, runAnswerSchema, type JsonSchema} from './schemas.js';
import {startPlan} from './start-run.js';

const text = (maxLength: number, extra: JsonSchema = {}): JsonSchema => ({type: 'string', maxLength, ...extra});
const timestamp = text(40, {format: 'date-time'});
const tokenRef: JsonSchema = {type: 'object', additionalProperties: false, required: ['id', 'name'], properties: {id: text(32), name: text(63)}};
const strings: JsonSchema = {type: 'array', items: {type: 'string'}};

/** The controller policy's answer for each host of the plan (approvals/host-answers.ts). */
export const hostAnswersSchema: JsonSchema = {
	type: 'array',
	description: 'The controller policy\'s answer for each host, in the plan\'s order, fixed when the request was opened: `approval` when an approvals rule the run matched selects the host (named in `rules`), `allowed` when none does (it waits with the plan); `described` is false for a host that did not describe the script when the plan was made (unreachable, or not on its allowlist). Absent from requests opened by older versions.',
	items: {
		type: 'object',
		additionalProperties: false,
		required: ['agent', 'answer', 'rules', 'described'],
		properties: {agent: text(253), answer: {enum: ['approval', 'allowed']}, rules: {type: 'array', items: text(100)}, described: {type: 'boolean'}},
	},
};

export const approvalViewSchema: JsonSchema = {
	type: 'object',
	additionalProperties: false,
	required: ['id', 'state', 'planHash', 'summary', 'requester', 'needs', 'createdAt', 'expiresAt', 'votes'],
	description: 'An approval request: the plan as approvers see it (arguments with secrets hashed, the exact hosts), who asked, what it needs, who approved.',
	properties: {
		id: text(64),
		state: {enum: ['pending', 'approved', 'rejected', 'invalidated', 'expired', 'used']},
		planHash: text(64, {description: 'SHA-256 of the plan the approval is bound to.'}),
		summary: {type: 'object', additionalProperties: false, required: ['script', 'args', 'targets'], properties: {script: text(64), args: strings, targets: strings, details: {type: 'object', additionalProperties: true}, hosts: hostAnswersSchema}},
		requester: {type: 'object', additionalProperties: false, required: ['token', 'caller', 'ai'], properties: {token: tokenRef, caller: text(1024), source: text(128), ai: {type: 'boolean'}}},
		needs: approvalNeedsSchema,
		createdAt: timestamp,
		expiresAt: timestamp,
		votes: {type: 'array', items: {type: 'object', additionalProperties: false, required: ['token', 'at'], properties: {token: tokenRef, at: timestamp, comment: text(500)}}},
		approvedAt: timestamp,
		closed: {type: 'object', additionalProperties: false, required: ['at', 'reason'], properties: {at: timestamp, by: tokenRef, reason: text(4096)}},
		usedAt: timestamp,
		runRequestId: text(64, {description: 'The run that executed the approved plan.'}),
	},
};

const errors = errorResponses;
const idParams: JsonSchema = {type: 'object', additionalProperties: false, required: ['id'], properties: {id: text(64, {pattern: '^[0-9a-f-]{4,64}$', description: 'The request id, or a unique prefix of at least 4 characters.'})}};

const routes: readonly RouteSpec[] = [
	{
		method: 'GET', url: '/v1/approvals', access: 'token', operationId: 'listApprovals', tag: 'approvals',
		summary: 'Runs waiting for a second operator\'s approval',
		description: 'As `xi-exec approvals`: open requests (pending, or approved and not yet run), newest first; `all=true` adds closed ones. Operator tokens and tokens whose scope is everything see every request; any other token sees its own.',
		schema: {querystring: {type: 'object', additionalProperties: false, properties: {all: {type: 'boolean'}}}, response: {200: {type: 'object', additionalProperties: false, required: ['approvals'], properties: {approvals: {type: 'array', items: approvalViewSchema}}}, ...errors}},
	},
	{
		method: 'GET', url: '/v1/approvals/:id', access: 'token', operationId: 'getApproval', tag: 'approvals',
		summary: 'One approval request and its plan',
		schema: {params: idParams, response: {200: approvalViewSchema, ...errors}},
	},
	{
		method: 'POST', url: '/v1/approvals/:id/approve', access: 'token', operationId: 'approveRequest', tag: 'approvals',
		summary: 'Approve another operator\'s run with your operator token',
		description: 'As `xi-exec approve ID`. The plan is resolved again first; if it changed (a host joined or left, an allowlist or the arguments changed) the request is invalidated (409 APPROVAL_PLAN_CHANGED). The requester cannot approve (403 APPROVAL_SELF), nor a token the rule does not name (403 APPROVER_NOT_ALLOWED). Every answer, refusals too, is in the controller\'s audit log.',
		schema: {params: idParams, body: {type: 'object', additionalProperties: false, properties: {comment: text(500)}}, response: {200: approvalViewSchema, ...errors}},
	},
	{
		method: 'POST', url: '/v1/approvals/:id/reject', access: 'token', operationId: 'rejectRequest', tag: 'approvals',
		summary: 'Reject a run waiting for approval, with the reason the requester reads',
		schema: {params: idParams, body: {type: 'object', additionalProperties: false, required: ['reason'], properties: {reason: text(500)}}, response: {200: approvalViewSchema, ...errors}},
	},
	{
		method: 'POST', url: '/v1/approvals/:id/run', access: 'token', operationId: 'runApproved', tag: 'approvals',
		summary: 'Run an approved plan, once, with the requester\'s token',
		description: 'As `xi-exec run --approved ID`: a run that POST /v1/runs answered 409 APPROVAL_PENDING for (its `approval.run` names this path) runs here once approved. The plan is resolved again and must hash as approved (409 APPROVAL_PLAN_CHANGED otherwise); the plan stored with the request, not a new resolution, is what runs, carrying the approval to every agent. Only the requester\'s token (403 APPROVER_NOT_ALLOWED), only once (409 APPROVAL_USED), not before approval (409 APPROVAL_PENDING). Answers as POST /v1/runs.',
		schema: {params: idParams, body: {type: 'object', additionalProperties: false, properties: {wait: {type: 'boolean', default: true, description: 'false: answer 202 at once and follow GET /v1/runs/{id}/events.'}}}, response: {200: runAnswerSchema, 202: acceptedSchema, ...errors}},
	},
];

function handlers(ports: ApiPorts): Record<string, Handler> {
	const face = (request: FastifyRequest, caller: Caller) => createApprovalsFace({
			paths: ports.paths,
			audit: ports.audit,
			now: ports.now,
		resolvePlanHash: resolvePlanHashWith({paths: ports.paths, registry: ports.registry, audit: () => ports.audit, context: ports.clientContext, now: ports.now}),
	}, {token: tokenCaller(caller).token, source: request.ip});

	/** Whether the caller may see this request: an operator, a token whose scope is everything, or its requester. */
	const maySee = async (caller: TokenCaller, request: ApprovalRequest) => {
		const record = (await ports.tokens()).find(token => token.id === caller.scope.id);
		const everything = caller.scope.scripts.includes('*') && caller.scope.on.length === 1 && caller.scope.on[0] === 'all';
		return record?.operator === true || everything || request.requester.token.id === caller.scope.id;
	};

	const view = ({plan: _plan, ...shown}: ApprovalRequest) => shown;
	return {
		async listApprovals(request, _reply, caller) {
			const {all} = request.query as {all?: boolean};
			const found = await face(request, caller).list({all: all === true});
			const seen = await Promise.all(found.map(async item => maySee(tokenCaller(caller), item)));
			return {approvals: found.filter((_item, index) => seen[index]).map(item => view(item))};
		},
		async getApproval(request, _reply, caller) {
			const found = await face(request, caller).show((request.params as {id: string}).id);
			if (!(await maySee(tokenCaller(caller), found))) {
				throw new XiError('APPROVAL_UNKNOWN', `No approval request ${JSON.stringify((request.params as {id: string}).id)} that this token may see.`);
			}

			return view(found);
		},
		async approveRequest(request, _reply, caller) {
			const {comment} = (request.body ?? {}) as {comment?: string};
			return view(await face(request, caller).approve((request.params as {id: string}).id, comment === undefined ? {} : {comment}));
		},
		async runApproved(request, reply, caller) {
			const {wait} = (request.body ?? {}) as {wait?: boolean};
			const claimed = await claimForRun({paths: ports.paths, registry: ports.registry, audit: () => ports.audit, context: ports.clientContext, now: ports.now}, (request.params as {id: string}).id, tokenCaller(caller).token, {source: request.ip});
			return startPlan(ports, reply, claimed.plan, {wait: wait !== false, approval: claimed.approval});
		},
		async rejectRequest(request, _reply, caller) {
			const {reason} = request.body as {reason: string};
			return view(await face(request, caller).reject((request.params as {id: string}).id, reason));
		},
	};
}

export const approvalRoutes: RouteFile = {routes, handlers};
