/**
 * One approval request and every change it can go through, as pure decisions. A request is born
 * `pending`, bound to the hash of the resolved plan it asks for:
 *
 *   pending ──votes reach every rule's quorum──▶ approved ──the requester runs it──▶ used
 *      │ \                                         │ \
 *      │  rejected (an approver, or the requester withdrawing), with a reason
 *      │  invalidated (the plan resolved again hashes differently)
 *      └──────────── expired (expiresAt passed; an approval lasts no longer than its request)
 *
 * Every decision checks, in this order, and refuses with the first that fails: the request is
 * still open (used, closed, expired), who acts (self-approval, an operator token named by a
 * matching rule, one vote each), and only then the plan hash (resolving a plan costs a round of
 * the fleet, and only an allowed approver may make a request invalid). A refusal names what to
 * do; nothing here touches a file or a clock (`now` comes in).
 */
import type {HostAnswer} from './host-answers.js';
import type {RequiredRule, Requirement} from './requirement.js';
import type {SealedPlanArgs} from './sealed-args.js';
import {tokenMatches} from './policy.js';

export type ApprovalState = 'pending' | 'approved' | 'rejected' | 'invalidated' | 'expired' | 'used';

export type TokenRef = {id: string; name: string};
/** An authenticated token acting on a request; only operator tokens may approve. */
export type Actor = TokenRef & {operator: boolean};

/** What approvers are shown of the plan: the arguments as shown (secrets hashed), the exact hosts. */
export type PlanSummary = {
	script: string;
	args: string[];
	targets: string[];
	/** Anything else the plan fixes that an approver should see (rollout, runbook and step). */
	details?: Record<string, unknown>;
	/** The controller policy's answer for each host, in the plan's order (host-answers.ts); absent from requests opened before it was kept. */
	hosts?: HostAnswer[];
};

export type Vote = {token: TokenRef; at: string; comment?: string};

export type ApprovalRequest = {
	id: string;
	state: ApprovalState;
	planHash: string;
	summary: PlanSummary;
	/** The plan as the executor takes it (opaque here); dropped once the request can no longer run. */
	plan?: unknown;
	/** On disk only: the plan's secret arguments, sealed (sealed-args.ts; the plan holds "" in their places). */
	sealed?: SealedPlanArgs;
	/** Read from disk: why the stored plan could not be opened (it cannot run). */
	planProblem?: string;
	requester: {token: TokenRef; caller: string; source?: string; ai: boolean};
	needs: RequiredRule[];
	createdAt: string;
	expiresAt: string;
	votes: Vote[];
	approvedAt?: string;
	/** Why it closed without running: who rejected and why, or what invalidated or expired it. */
	closed?: {at: string; by?: TokenRef; reason: string};
	usedAt?: string;
	/** The run that executed the approved plan. */
	runRequestId?: string;
};

export type ApprovalCode = 'APPROVAL_SELF' | 'APPROVER_NOT_ALLOWED' | 'APPROVAL_EXPIRED' | 'APPROVAL_CLOSED' | 'APPROVAL_USED' | 'APPROVAL_PENDING' | 'APPROVAL_PLAN_CHANGED';

export type Refusal = {ok: false; code: ApprovalCode; reason: string; /** The request as it is after the refusal, when the refusal changed it (an invalidation). */ request?: ApprovalRequest};
export type Decision = {ok: true; request: ApprovalRequest} | Refusal;

export function openRequest(input: {
	id: string;
	planHash: string;
	summary: PlanSummary;
	plan: unknown;
	requester: ApprovalRequest['requester'];
	requirement: Requirement;
	now: Date;
}): ApprovalRequest {
	return {
		id: input.id,
		state: 'pending',
		planHash: input.planHash,
		summary: input.summary,
		plan: input.plan,
		requester: input.requester,
		needs: input.requirement.rules,
		createdAt: input.now.toISOString(),
		expiresAt: new Date(input.now.getTime() + input.requirement.expiresMs).toISOString(),
		votes: [],
	};
}

/** The request expired at `now` when it was still open (pending or approved) and its time is up; else undefined. */
export function expireIfDue(request: ApprovalRequest, now: Date): ApprovalRequest | undefined {
	if ((request.state !== 'pending' && request.state !== 'approved') || now < new Date(request.expiresAt)) {
		return undefined;
	}

	return close(request, 'expired', now, `it expired at ${request.expiresAt} ${request.state === 'approved' ? 'before it was run' : 'without enough approvals'}`);
}

/** An approver's vote: counted toward each rule that names them; the request is approved once every rule has its quorum. */
export function decideVote(request: ApprovalRequest, voter: Actor, planHash: string, now: Date, comment?: string): Decision {
	const closed = refuseClosed(request, now) ?? (request.state === 'approved' ? refusal('APPROVAL_CLOSED', `request ${request.id} is already approved (by ${approverNames(request)}); it waits for ${request.requester.token.name} to run it`) : undefined);
	if (closed) {
		return closed;
	}

	const who = refuseActor(request, voter);
	if (who) {
		return who;
	}

	if (request.votes.some(vote => vote.token.name === voter.name || vote.token.id === voter.id)) {
		return refusal('APPROVER_NOT_ALLOWED', `${voter.name} has already approved request ${request.id}; it needs ${outstanding(request)} from someone else`);
	}

	const changed = refuseChangedPlan(request, planHash, now);
	if (changed) {
		return changed;
	}

	const votes = [...request.votes, {token: {id: voter.id, name: voter.name}, at: now.toISOString(), ...(comment ? {comment} : {})}];
	const counted = {...request, votes};
	return {ok: true, request: quorumReached(counted) ? {...counted, state: 'approved', approvedAt: now.toISOString()} : counted};
}

/** A rejection, with its reason: by an approver the rules name, or by the requester (who withdraws it). */
export function decideRejection(request: ApprovalRequest, actor: Actor, reason: string, now: Date): Decision {
	const closed = refuseClosed(request, now);
	if (closed) {
		return closed;
	}

	if (!isRequester(request, actor)) {
		const who = refuseActor(request, actor);
		if (who) {
			return who;
		}
	}

	return {ok: true, request: close(request, 'rejected', now, reason, {id: actor.id, name: actor.name})};
}

/**
 * What asked for the request withdraws it, without a token acting (a runbook run cancelled while
 * its step waited): an open request closes as rejected, its reason saying so; one already
 * decided, used or expired is left as it is (undefined).
 */
export function decideWithdrawal(request: ApprovalRequest, reason: string, now: Date): ApprovalRequest | undefined {
	if ((request.state !== 'pending' && request.state !== 'approved') || expireIfDue(request, now)) {
		return undefined;
	}

	return close(request, 'rejected', now, `${withdrawnPrefix}${reason}`);
}

export const withdrawnPrefix = 'withdrawn: ';

/** Whether the request was closed by a withdrawal (decideWithdrawal). */
export function isWithdrawn(request: ApprovalRequest): boolean {
	return request.state === 'rejected' && request.closed?.by === undefined && request.closed?.reason.startsWith(withdrawnPrefix) === true;
}

/**
 * The requester starts the approved plan: single use. Refused while pending, once closed or
 * used, to anyone but the requester's own token, and when the plan resolved now hashes
 * differently (which invalidates the request).
 */
export function decideClaim(request: ApprovalRequest, claimer: TokenRef, planHash: string, now: Date, runRequestId: string): Decision {
	const closed = refuseClosed(request, now);
	if (closed) {
		return closed;
	}

	if (request.state === 'pending') {
		return refusal('APPROVAL_PENDING', `request ${request.id} still waits for approval (needs ${outstanding(request)})`);
	}

	if (claimer.id !== request.requester.token.id) {
		return refusal('APPROVER_NOT_ALLOWED', `request ${request.id} was made by ${request.requester.token.name}; only that token can run it`);
	}

	const changed = refuseChangedPlan(request, planHash, now);
	if (changed) {
		return changed;
	}

	const {plan: _plan, ...rest} = request;
	return {ok: true, request: {...rest, state: 'used', usedAt: now.toISOString(), runRequestId}};
}

/** Whether every rule has its quorum of distinct approvers it names. */
export function quorumReached(request: Pick<ApprovalRequest, 'needs' | 'votes'>): boolean {
	return request.needs.every(rule => votesFor(rule, request.votes) >= rule.quorum);
}

/** What is still missing, as `1 of: token:lead-*` per rule short of its quorum. */
export function outstanding(request: Pick<ApprovalRequest, 'needs' | 'votes'>): string {
	const short = request.needs.filter(rule => votesFor(rule, request.votes) < rule.quorum);
	return short.map(rule => `${rule.quorum - votesFor(rule, request.votes)} more of: ${rule.approvers.join(', ')}`).join('; ') || 'nothing more';
}

export function approverNames(request: Pick<ApprovalRequest, 'votes'>): string {
	return request.votes.map(vote => vote.token.name).join(', ');
}

function votesFor(rule: RequiredRule, votes: readonly Vote[]): number {
	return new Set(votes.filter(vote => tokenMatches(rule.approvers, vote.token.name)).map(vote => vote.token.name)).size;
}

function isRequester(request: ApprovalRequest, actor: TokenRef): boolean {
	// The same token, or another token under the same name (revoked and created again).
	return actor.id === request.requester.token.id || actor.name === request.requester.token.name;
}

function refuseClosed(request: ApprovalRequest, now: Date): Refusal | undefined {
	const expired = expireIfDue(request, now);
	if (expired) {
		return refusal('APPROVAL_EXPIRED', `request ${request.id} expired at ${request.expiresAt}; ask again (\`xi-exec run\` makes a new request)`, expired);
	}

	switch (request.state) {
		case 'used': {
			return refusal('APPROVAL_USED', `request ${request.id} was already used by run ${request.runRequestId ?? '?'} at ${request.usedAt ?? '?'}; an approval runs once`);
		}

		case 'expired': {
			return refusal('APPROVAL_EXPIRED', `request ${request.id} expired at ${request.expiresAt}; ask again (\`xi-exec run\` makes a new request)`);
		}

		case 'rejected':
		case 'invalidated': {
			return refusal('APPROVAL_CLOSED', `request ${request.id} was ${request.state}${request.closed?.by ? ` by ${request.closed.by.name}` : ''}: ${request.closed?.reason ?? 'no reason recorded'}`);
		}

		default: {
			return undefined;
		}
	}
}

function refuseActor(request: ApprovalRequest, actor: Actor): Refusal | undefined {
	if (isRequester(request, actor)) {
		return refusal('APPROVAL_SELF', `${actor.name} made request ${request.id} and cannot approve it; it needs ${outstanding(request)}`);
	}

	if (!actor.operator) {
		return refusal('APPROVER_NOT_ALLOWED', `token ${actor.name} is not an operator token; approvers need their own (\`xi-exec token create --name NAME --operator\`)`);
	}

	if (!request.needs.some(rule => tokenMatches(rule.approvers, actor.name))) {
		return refusal('APPROVER_NOT_ALLOWED', `${actor.name} is not an approver for request ${request.id}; it needs ${outstanding(request)}`);
	}

	return undefined;
}

function refuseChangedPlan(request: ApprovalRequest, planHash: string, now: Date): Refusal | undefined {
	if (planHash === request.planHash) {
		return undefined;
	}

	// A hash (from a caller that only hashes) gets the general reason; otherwise the caller said what changed.
	const reason = /^[\da-f]{64}$/.test(planHash)
		? `the plan resolved now (hash ${planHash.slice(0, 12)}) differs from the one requested (hash ${request.planHash.slice(0, 12)}): a host joined or left, its tags or allowlist changed, or the arguments differ`
		: planHash;
	return refusal('APPROVAL_PLAN_CHANGED', `request ${request.id} no longer holds: ${reason}; ask again`, close(request, 'invalidated', now, reason));
}

function close(request: ApprovalRequest, state: 'rejected' | 'invalidated' | 'expired', now: Date, reason: string, by?: TokenRef): ApprovalRequest {
	const {plan: _plan, ...rest} = request;
	return {...rest, state, closed: {at: now.toISOString(), ...(by ? {by} : {}), reason}};
}

function refusal(code: ApprovalCode, reason: string, request?: ApprovalRequest): Refusal {
	return {ok: false, code, reason, ...(request ? {request} : {})};
}
