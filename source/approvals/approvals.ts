/**
 * The approvals use case, one for every face (CLI, console, REST API, MCP, runbooks): open a
 * request for a plan, list requests, approve, reject, wait for a decision, and claim an approved
 * request to run it. Each change is decided (request.ts) under the store's lock on the file as it
 * is now, recorded in the controller's audit log, and only then written: no record, no change
 * (fail closed). Refusals are recorded too, with the code and reason the caller gets.
 *
 * Plans are opaque here: the caller hands over the plan, its hash and what approvers are shown,
 * and a port that resolves a request's plan again and hashes it (an approval and a run both
 * check that the world still resolves to the approved plan).
 */
import {randomUUID} from 'node:crypto';
import {setTimeout as sleepFor} from 'node:timers/promises';
import type {AuditFields} from '../audit/record.js';
import type {AuditLog} from '../audit/file-log.js';
import {XiError} from '../errors.js';
import {authenticateToken, type TokenRecord} from '../policy/tokens.js';
import {hasControl} from '../protocol/text-checks.js';
import {groupAnswers} from './host-answers.js';
import {decideClaim, decideRejection, decideVote, decideWithdrawal, expireIfDue, openRequest, type Actor, type ApprovalRequest, type Decision, type PlanSummary, type TokenRef} from './request.js';
import type {Requirement} from './requirement.js';
import {pruneClosed, type ApprovalFile, type ApprovalStore} from './store.js';

export type ApprovalPorts = {
	store: ApprovalStore;
	/** The controller's audit log, open (the caller closes it). */
	audit: AuditLog;
	now: () => Date;
};

/**
 * Resolves the request's plan again, as it would run now, and returns its hash when it is the
 * approved one; otherwise why not, in words (what changed, or why it no longer resolves).
 */
export type ResolvePlanHash = (request: ApprovalRequest) => Promise<string>;

/** Where an action came from, for the audit trail (a REST client's address, an MCP client). */
export type ActionSource = {source?: string; client?: string};

export type NewRequest = {
	planHash: string;
	summary: PlanSummary;
	plan: unknown;
	requester: ApprovalRequest['requester'];
	requirement: Requirement;
};

const shortestPrefix = 4;
const maxReasonLength = 500;

export async function requestApproval(ports: ApprovalPorts, input: NewRequest): Promise<ApprovalRequest> {
	const now = ports.now();
	const request = openRequest({id: randomUUID(), ...input, now});
	await ports.store.update(async file => {
		await ports.audit.append({
			event: 'approval.requested',
			approvalId: request.id,
			planHash: request.planHash,
			script: request.summary.script,
			args: request.summary.args,
			targets: request.summary.targets,
			...(request.summary.hosts ? {hosts: groupAnswers(request.summary.hosts)} : {}),
			requester: request.requester.token,
			caller: request.requester.caller,
			source: request.requester.source,
			ai: request.requester.ai,
			needs: request.needs,
			expiresAt: request.expiresAt,
		});
		const kept = pruneClosed(file, now);
		return {...kept, requests: [...kept.requests, request]};
	});
	return request;
}

/** The requests, newest first (open ones only unless `all`); requests whose time ran out are recorded as expired first. */
export async function listApprovals(ports: ApprovalPorts, options: {all?: boolean} = {}): Promise<ApprovalRequest[]> {
	const file = await expireDue(ports);
	const requests = options.all ? file.requests : file.requests.filter(request => request.state === 'pending' || request.state === 'approved');
	return [...requests].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

export async function showApproval(ports: ApprovalPorts, id: string): Promise<ApprovalRequest> {
	return findRequest((await expireDue(ports)).requests, id);
}

export async function approveRequest(ports: ApprovalPorts, id: string, actor: Actor, resolvePlanHash: ResolvePlanHash, options: ActionSource & {comment?: string} = {}): Promise<ApprovalRequest> {
	const comment = options.comment === undefined ? undefined : checkText(options.comment, 'the comment');
	const found = findRequest((await ports.store.read()).requests, id);
	// Everything but the plan first: a refused approver never makes the controller resolve a plan.
	const early = decideVote(found, actor, found.planHash, ports.now(), comment);
	const hash = early.ok ? await resolvePlanHash(found) : found.planHash;
	return act(ports, found.id, 'approve', actor, options, request => decideVote(request, actor, hash, ports.now(), comment), (before, after) => ({
		event: 'approval.approved',
		approvalId: after.id,
		planHash: after.planHash,
		approver: tokenOf(actor),
		comment,
		approved: after.state === 'approved',
		approvers: after.state === 'approved' ? after.votes.map(vote => vote.token) : undefined,
		votes: after.votes.length,
	}));
}

export async function rejectRequest(ports: ApprovalPorts, id: string, actor: Actor, reason: string, options: ActionSource = {}): Promise<ApprovalRequest> {
	const why = checkText(reason, 'the reason');
	if (why === '') {
		throw new XiError('USAGE', 'A rejection needs a reason (--reason "..."): the requester and the audit trail read it.');
	}

	const found = findRequest((await ports.store.read()).requests, id);
	return act(ports, found.id, 'reject', actor, options, request => decideRejection(request, actor, why, ports.now()), (_before, after) => ({
		event: 'approval.rejected',
		approvalId: after.id,
		planHash: after.planHash,
		by: tokenOf(actor),
		reason: why,
		withdrawn: actor.id === after.requester.token.id || actor.name === after.requester.token.name,
	}));
}

/**
 * Withdraws an open request for what asked for it (a runbook run cancelled while its step
 * waited): closed as rejected and recorded as `approval.withdrawn` first; a request already
 * decided, used or expired is left as it is (undefined).
 */
export async function withdrawApproval(ports: ApprovalPorts, id: string, by: {caller: string; source?: string}, reason: string): Promise<ApprovalRequest | undefined> {
	let withdrawn: ApprovalRequest | undefined;
	await ports.store.update(async file => {
		const request = findRequest(file.requests, id);
		withdrawn = decideWithdrawal(request, reason, ports.now());
		if (!withdrawn) {
			return file;
		}

		await ports.audit.append({event: 'approval.withdrawn', approvalId: request.id, planHash: request.planHash, caller: by.caller, source: by.source, reason});
		return replace(file, withdrawn);
	});
	return withdrawn;
}

/**
 * Claims an approved request to run it (single use): the requester's token only, with the plan
 * resolved again to the approved hash. Returns the plan as approved, which is what runs.
 */
export async function claimApproved(ports: ApprovalPorts, id: string, claimer: TokenRef, resolvePlanHash: ResolvePlanHash, runRequestId: string, options: ActionSource = {}): Promise<{request: ApprovalRequest; plan: unknown}> {
	const found = findRequest((await ports.store.read()).requests, id);
	const early = decideClaim(found, claimer, found.planHash, ports.now(), runRequestId);
	const hash = early.ok ? await resolvePlanHash(found) : found.planHash;
	let plan: unknown;
	const request = await act(ports, found.id, 'run', {...claimer, operator: false}, options, current => {
		plan = current.plan;
		return decideClaim(current, claimer, hash, ports.now(), runRequestId);
	}, (_before, after) => ({
		event: 'approval.executed',
		approvalId: after.id,
		planHash: after.planHash,
		requestId: runRequestId,
		by: tokenOf(claimer),
		approvers: after.votes.map(vote => vote.token),
		approvedAt: after.approvedAt,
	}));
	return {request, plan};
}

/**
 * Waits until the request is no longer pending (approved, rejected, invalidated, expired) and
 * returns it; `signal` stops the wait (the request stays pending). Reads the store every
 * `intervalMs`: another process decides.
 */
export async function waitForDecision(ports: ApprovalPorts, id: string, options: {signal?: AbortSignal; intervalMs?: number; sleep?: (ms: number, signal?: AbortSignal) => Promise<unknown>} = {}): Promise<ApprovalRequest> {
	const sleep = options.sleep ?? (async (ms: number, signal?: AbortSignal) => sleepFor(ms, undefined, signal ? {signal} : {}));
	for (;;) {
		const request = findRequest((await ports.store.read()).requests, id);
		if (request.state !== 'pending') {
			return request;
		}

		if (expireIfDue(request, ports.now())) {
			return findRequest((await expireDue(ports)).requests, request.id);
		}

		await sleep(options.intervalMs ?? 500, options.signal);
	}
}

/** The authenticated token behind an approval action; a missing token is refused (never `$USER`). */
export function authenticateActor(tokens: readonly TokenRecord[], presented: string | undefined, now: Date): Actor {
	if (presented === undefined || presented.trim() === '') {
		throw new XiError('APPROVAL_TOKEN_REQUIRED', 'Approvals act on your own token, not on the account you are logged in as: set XI_EXEC_TOKEN or pass --token-file (an operator\'s token: `xi-exec token create --name NAME --operator`).');
	}

	const check = authenticateToken(tokens, presented.trim(), now);
	if (!check.ok) {
		throw new XiError('TOKEN_INVALID', `Token refused: ${check.reason}.`);
	}

	return {id: check.token.id, name: check.token.name, operator: check.token.operator === true};
}

/** A request by its full id or a unique prefix of at least 4 characters. */
export function findRequest(requests: readonly ApprovalRequest[], id: string): ApprovalRequest {
	const wanted = id.trim().toLowerCase().replace(/…$/, '');
	const exact = requests.find(request => request.id === wanted);
	if (exact) {
		return exact;
	}

	const matches = wanted.length >= shortestPrefix ? requests.filter(request => request.id.startsWith(wanted)) : [];
	if (matches.length !== 1) {
		throw new XiError('APPROVAL_UNKNOWN', matches.length > 1
			? `${matches.length} approval requests start with ${JSON.stringify(wanted)}; give more of the id (\`xi-exec approvals\` lists them).`
			: `No approval request ${JSON.stringify(wanted)}${wanted.length < shortestPrefix ? ` (give at least ${shortestPrefix} characters of the id)` : ''}; \`xi-exec approvals --all\` lists them.`);
	}

	return matches[0]!;
}

/**
 * One decided change under the lock: the decision is made on the request as it is on disk now;
 * what it changes is recorded before it is written, and a refusal is recorded (with whatever it
 * changed: an expiry, an invalidation) and then thrown.
 */
async function act(ports: ApprovalPorts, id: string, action: 'approve' | 'reject' | 'run', actor: Actor, from: ActionSource, decide: (request: ApprovalRequest) => Decision, record: (before: ApprovalRequest, after: ApprovalRequest) => AuditFields): Promise<ApprovalRequest> {
	let outcome: Decision | undefined;
	await ports.store.update(async file => {
		const before = findRequest(file.requests, id);
		outcome = decide(before);
		const after = outcome.request;
		if (after) {
			await ports.audit.append(outcome.ok ? {...record(before, after), ...from} : closingRecord(after, actor));
		}

		if (!outcome.ok) {
			await ports.audit.append({event: 'approval.refused', approvalId: before.id, action, by: tokenOf(actor), code: outcome.code, reason: outcome.reason, ...from});
		}

		return after ? replace(file, after) : file;
	});
	if (!outcome!.ok) {
		throw new XiError(outcome!.code, sentence(outcome!.reason));
	}

	return outcome!.request;
}

/** Records every open request whose time ran out as expired (under the lock, each audited first). */
async function expireDue(ports: ApprovalPorts): Promise<ApprovalFile> {
	const now = ports.now();
	const current = await ports.store.read();
	if (!current.requests.some(request => expireIfDue(request, now))) {
		return current;
	}

	return ports.store.update(async file => {
		let next = file;
		for (const request of file.requests) {
			const expired = expireIfDue(request, now);
			if (expired) {
				await ports.audit.append(closingRecord(expired));
				next = replace(next, expired);
			}
		}

		return next;
	});
}

function closingRecord(request: ApprovalRequest, actor?: Actor): AuditFields {
	return request.state === 'expired'
		? {event: 'approval.expired', approvalId: request.id, planHash: request.planHash, expiresAt: request.expiresAt, votes: request.votes.length}
		: {event: 'approval.invalidated', approvalId: request.id, planHash: request.planHash, by: actor ? tokenOf(actor) : undefined, reason: request.closed?.reason};
}

function replace(file: ApprovalFile, request: ApprovalRequest): ApprovalFile {
	return {...file, requests: file.requests.map(existing => existing.id === request.id ? request : existing)};
}

function tokenOf(token: TokenRef): TokenRef {
	return {id: token.id, name: token.name};
}

function checkText(text: string, what: string): string {
	const trimmed = text.trim();
	if (trimmed.length > maxReasonLength || hasControl(trimmed)) {
		throw new XiError('USAGE', `${what} must be one line of at most ${maxReasonLength} characters without control characters.`);
	}

	return trimmed;
}

function sentence(text: string): string {
	return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
}
