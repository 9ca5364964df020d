/**
 * Two-person approval as an MCP caller sees it: a script call the controller's approvals policy
 * gates answers "pending" with the approval request's id instead of running, and `wait_approval`
 * answers the same until an operator decides (then it runs exactly the approved plan and answers
 * the run). The pending answer fits the run result's schema (no hosts, not complete) with an
 * `approval` object, so a client reads one shape. Pure.
 */
import type {ApprovalRequest} from '../approvals/request.js';
import {answerLines} from '../approvals/host-answers.js';
import {describeNeeds} from '../approvals/requirement.js';
import type {ToolResult} from './results.js';
import type {JsonSchema} from './tools.js';

export const approvalStates = ['pending', 'approved', 'rejected', 'invalidated', 'expired', 'used'] as const;

/** The `approval` object of a run result: which request, its state, what it still needs. */
export const approvalSchema: JsonSchema = {
	type: 'object',
	properties: {
		id: {type: 'string', description: 'The approval request\'s id: wait_approval takes it.'},
		state: {type: 'string', enum: [...approvalStates]},
		needs: {type: 'string', description: 'Who must approve, as `1 of: token:lead-*` per rule.'},
		planHash: {type: 'string', description: 'SHA-256 of the plan the approval is bound to: what runs is exactly that plan.'},
		expiresAt: {type: 'string'},
		hosts: {
			type: 'array',
			description: 'The controller policy\'s answer for each host of the plan: `approval` when an approvals rule selects it (named in `rules`), `allowed` when none does (it waits with the plan); `described` false when the host did not describe the script when the plan was made.',
			items: {
				type: 'object',
				properties: {agent: {type: 'string'}, answer: {type: 'string', enum: ['approval', 'allowed']}, rules: {type: 'array', items: {type: 'string'}}, described: {type: 'boolean'}},
				required: ['agent', 'answer', 'rules', 'described'],
				additionalProperties: false,
			},
		},
	},
	required: ['id', 'state', 'needs', 'planHash', 'expiresAt'],
	additionalProperties: false,
};

export function approvalView(request: ApprovalRequest) {
	return {id: request.id, state: request.state, needs: describeNeeds({rules: request.needs}), planHash: request.planHash, expiresAt: request.expiresAt, ...(request.summary.hosts ? {hosts: request.summary.hosts} : {})};
}

/** Nothing ran: the run waits for an operator's approval. Not an error: the caller asks again with wait_approval. */
export function pendingApprovalResult(request: ApprovalRequest, runRequestId: string): ToolResult {
	const hosts = request.summary.targets.length;
	return {
		content: [{type: 'text', text: `Waiting for approval: request ${request.id} (needs ${describeNeeds({rules: request.needs})}) for ${request.summary.script} on ${hosts} ${hosts === 1 ? 'host' : 'hosts'}, until ${request.expiresAt}.${policyWords(request)} Nothing has run. An operator approves or rejects it; call wait_approval with approvalId ${request.id} to learn the decision and, once approved, run exactly this plan.`}],
		structuredContent: {requestId: runRequestId, script: request.summary.script, dryRun: false, cancelled: false, complete: false, counts: {}, results: [], approval: approvalView(request)},
	};
}

/** ` The controller's policy: approval db[1-2]: rule "production" selects them; allowed web1: ...` (empty for a request without answers). */
function policyWords(request: ApprovalRequest): string {
	const lines = answerLines(request.summary.hosts ?? [], request.summary.script);
	return lines.length === 0 ? '' : ` The controller's policy per host: ${lines.map(line => line.replace(/ +/, ' ')).join('; ')}.`;
}
