/**
 * POST /v1/policy/check: the central policy check the agents' reference hook calls, authenticated
 * by the agent's client certificate. Every decision is recorded before it is answered.
 */
import {openApprovalStore} from '../approvals/store.js';
import {argsHash} from '../audit/record.js';
import {XiError} from '../errors.js';
import {isApprovalClaim} from '../protocol/decode.js';
import {decidePolicy, type PolicyContext} from './policy-decision.js';
import type {ApiPorts, Handler, RouteFile} from './route-file.js';
import {errorResponses, type RouteSpec} from './route-spec.js';
import * as s from './schemas.js';

const routes: readonly RouteSpec[] = [
	{
		method: 'POST', url: '/v1/policy/check', access: 'agent', operationId: 'policyCheck', tag: 'policy',
		summary: 'The central policy check the agents\' reference hook calls',
		description: 'Authenticated by the calling agent\'s own client certificate (mutual TLS with the fleet CA), not by a token. Allows only when the token exists, is neither revoked nor expired, and its scope includes the script and this agent (by the registry\'s tags); a run without a token only when the controller recorded the request without one.',
		schema: {body: s.policyContextSchema, response: {200: s.policyAnswerSchema, ...errorResponses}},
	},
];

function handlers(ports: ApiPorts): Record<string, Handler> {
	return {
		async policyCheck(request, _reply, caller) {
			if (caller.kind !== 'agent') {
				throw new XiError('INTERNAL', 'the policy route was reached without an agent certificate');
			}

			const context = request.body as PolicyContext;
			const now = ports.now();
			const record = ports.requestRecords.find(context.requestId, now);
			const approvalId = record?.approval?.id ?? (isApprovalClaim(context.approval) ? context.approval.id : undefined);
			const approval = approvalId === undefined ? undefined : (await openApprovalStore(ports.paths.home).read()).requests.find(candidate => candidate.id === approvalId);
			const answer = decidePolicy({
				context,
				certificateAgent: caller.agent,
				record,
				...(approval ? {approval} : {}),
				tokens: await ports.tokens(),
				now,
			});
			// Every decision is recorded; without a record there is no allow (the hook denies on a 503).
			await ports.audit.append({
				event: 'policy.decision',
				requestId: context.requestId,
				agent: caller.agent.name,
				script: context.script,
				argsHash: argsHash(context.args),
				token: context.token ? {id: context.token.id} : undefined,
				approvalId,
				allowed: answer.allow,
				reason: answer.reason,
				source: request.ip,
			});
			return answer;
		},
	};
}

export const policyRoutes: RouteFile = {routes, handlers};
