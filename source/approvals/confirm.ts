/**
 * The central policy endpoint's check of a run's approval: the agent reports what approval the
 * run carries; the controller compares it with what it recorded when it sent the request
 * (its `run.request` record) and with the approval request itself (approvals.json). An approval
 * stripped from a run, one added to it, one for another plan, or one not used by exactly this
 * run is a denial. Pure.
 */
import type {ApprovalClaim} from '../protocol/frames.js';
import type {ApprovalRequest} from './request.js';

/** Undefined: nothing to confirm (no approval on either side), or the approval holds; else why not. */
export function approvalProblem(input: {requestId: string; claimed: ApprovalClaim | null | undefined; recorded: ApprovalClaim | undefined; stored: ApprovalRequest | undefined}): string | undefined {
	const {requestId, claimed, recorded, stored} = input;
	if (!recorded) {
		return claimed ? `the agent reports approval ${claimed.id}, but request ${requestId} was sent without one` : undefined;
	}

	if (!claimed) {
		return `request ${requestId} was sent with approval ${recorded.id}, but the agent reports none`;
	}

	if (claimed.id !== recorded.id) {
		return `the approval the agent reports (${claimed.id}) is not the one request ${requestId} was sent with (${recorded.id})`;
	}

	if (claimed.planHash !== recorded.planHash) {
		return `the agent reports approval ${claimed.id} for plan ${claimed.planHash.slice(0, 12)}, but request ${requestId} was sent for plan ${recorded.planHash.slice(0, 12)}`;
	}

	if (!stored) {
		return `the controller has no approval request ${claimed.id}`;
	}

	if (stored.state !== 'used' || stored.runRequestId !== requestId) {
		return `approval ${claimed.id} was not used by request ${requestId} (it is ${stored.state}${stored.runRequestId ? `, used by ${stored.runRequestId}` : ''})`;
	}

	if (stored.planHash !== claimed.planHash) {
		return `approval ${claimed.id} is for another plan`;
	}

	return undefined;
}

/** What a run sends of its approval, from the used request. */
export function approvalClaim(request: ApprovalRequest): ApprovalClaim {
	return {id: request.id, approvers: request.votes.map(vote => vote.token.name), at: request.approvedAt ?? request.usedAt ?? request.createdAt, planHash: request.planHash};
}
