/**
 * The central policy decision the agents' reference hook asks for: is this run, as the agent
 * describes it, one the controller asked for, and does the caller's token still allow it? Denials
 * are checked first; the answer is allow only when every check passes. Pure: the token store, the
 * registry record and the controller's own audit record of the request come in as values.
 */
import {approvalProblem} from '../approvals/confirm.js';
import type {ApprovalRequest} from '../approvals/request.js';
import {argsHash} from '../audit/record.js';
import {isApprovalClaim} from '../protocol/decode.js';
import type {ApprovalClaim} from '../protocol/frames.js';
import {checkScope, scopeOf, type TokenRecord} from '../policy/tokens.js';
import type {PolicyAnswer, PolicyContext} from '../protocol/policy-query.js';
import type {AgentRecord} from '../registry/model.js';

export type {PolicyAnswer, PolicyContext} from '../protocol/policy-query.js';

/** What the controller recorded when it sent the request (its `run.request` or `run.dry-run` audit record). */
export type RequestRecord = {
	event: string;
	requestId: string;
	script: string;
	argsHash: string;
	targets: string[];
	caller: string;
	token?: {id: string; name: string};
	/** The approval the run was sent with (two-person approval). */
	approval?: ApprovalClaim;
};

export type PolicyFacts = {
	context: PolicyContext;
	/** The agent named by the caller's client certificate (already checked against the registry). */
	certificateAgent: AgentRecord;
	record: RequestRecord | undefined;
	tokens: readonly TokenRecord[];
	/** The approval request the run or the agent names, from the approvals store, when either names one. */
	approval?: ApprovalRequest;
	now: Date;
};

const deny = (reason: string): PolicyAnswer => ({allow: false, reason});

export function decidePolicy(facts: PolicyFacts): PolicyAnswer {
	const {context, certificateAgent: agent, record} = facts;
	if (context.agent.name !== agent.name) {
		return deny(`agent ${agent.name} asked about a run on ${context.agent.name}`);
	}

	if (!record) {
		return deny(`the controller has no record of request ${context.requestId}`);
	}

	if (record.script !== context.script) {
		return deny(`request ${context.requestId} was for ${record.script}, not ${context.script}`);
	}

	if (record.argsHash !== argsHash(context.args)) {
		return deny(`the arguments differ from those the controller sent with request ${context.requestId}`);
	}

	if (!record.targets.includes(agent.name)) {
		return deny(`request ${context.requestId} was not sent to ${agent.name}`);
	}

	if ((record.event === 'run.dry-run') !== context.dryRun) {
		return deny(`request ${context.requestId} was ${record.event === 'run.dry-run' ? '' : 'not '}a dry run`);
	}

	const unapproved = approvalProblem({requestId: context.requestId, claimed: context.approval, recorded: record.approval, stored: facts.approval});
	if (unapproved) {
		return deny(unapproved);
	}

	const approved = record.approval ? `; approved by ${record.approval.approvers.join(', ')} (approval ${record.approval.id})` : '';
	if (context.token === null) {
		return record.token
			? deny(`request ${context.requestId} was made with token ${record.token.name}, but the agent reports none`)
			: {allow: true, reason: `no token: a run requested by ${record.caller} with the controller's own certificate${approved}`};
	}

	if (record.token?.id !== context.token.id) {
		return deny(`the token reported for request ${context.requestId} is not the one it was made with`);
	}

	const token = facts.tokens.find(candidate => candidate.id === context.token!.id);
	if (!token) {
		return deny(`token ${context.token.id} does not exist`);
	}

	// As authenticateToken decides for a presented token; here the token is known by its id.
	if (token.revokedAt !== null) {
		return deny(`token ${token.name} was revoked at ${token.revokedAt}`);
	}

	if (token.expiresAt !== null && new Date(token.expiresAt) <= facts.now) {
		return deny(`token ${token.name} expired at ${token.expiresAt}`);
	}

	const problem = checkScope(scopeOf(token), context.script, [agent]);
	return problem ? deny(problem) : {allow: true, reason: `token ${token.name} may run ${context.script} on ${agent.name}${approved}`};
}

/** Reads a controller audit record as a request record, or undefined when it is not one. */
export function asRequestRecord(record: Record<string, unknown>): RequestRecord | undefined {
	const {event, requestId, script, argsHash: hash, targets, caller, token, approval} = record;
	if ((event !== 'run.request' && event !== 'run.dry-run') || typeof requestId !== 'string' || typeof script !== 'string' || typeof hash !== 'string' || !Array.isArray(targets) || typeof caller !== 'string') {
		return undefined;
	}

	const named = typeof token === 'object' && token !== null && typeof (token as {id?: unknown}).id === 'string' ? token as {id: string; name: string} : undefined;
	return {event, requestId, script, argsHash: hash, targets: targets.filter((name): name is string => typeof name === 'string'), caller, ...(named ? {token: {id: named.id, name: String(named.name)}} : {}), ...(isApprovalClaim(approval) ? {approval} : {})};
}
