/**
 * The approval decisions as tables: who may approve, self-approval and its neighbours, a quorum
 * of 2, expiry on an injected clock, plan-hash changes, single use. Each refusal's exact code and
 * wording is asserted, and what the request becomes.
 */
import test from 'ava';
import {decideClaim, decideRejection, decideVote, expireIfDue, openRequest, outstanding, type Actor, type ApprovalRequest} from '../../source/approvals/request.js';

const t0 = new Date('2026-12-06T10:00:00.000Z');
const at = (minutes: number) => new Date(t0.getTime() + (minutes * 60_000));
const hash = 'a'.repeat(64);
const otherHash = 'b'.repeat(64);

const alice: Actor = {id: 'alice-1', name: 'alice', operator: true};
const aliceAgain: Actor = {id: 'alice-2', name: 'alice', operator: true};
const bob: Actor = {id: 'bob-1', name: 'lead-bob', operator: true};
const carol: Actor = {id: 'carol-1', name: 'lead-carol', operator: true};
const leadScoped: Actor = {id: 'lead-x', name: 'lead-ci', operator: false};
const dave: Actor = {id: 'dave-1', name: 'dave', operator: true};

function request(quorum = 1, rules = [{name: 'prod', approvers: ['token:lead-*'], quorum}]): ApprovalRequest {
	return openRequest({
		id: '7c1e0000-0000-4000-8000-000000000001',
		planHash: hash,
		summary: {script: 'restart-db', args: ['--now'], targets: ['db1', 'db2']},
		plan: {opaque: true},
		requester: {token: {id: alice.id, name: alice.name}, caller: 'alice@ops', ai: false},
		requirement: {rules, expiresMs: 30 * 60_000},
		now: t0,
	});
}

type VoteCase = [what: string, make: () => ApprovalRequest, voter: Actor, planHash: string, minute: number, code: string, wording: string];
const refusedVotes: VoteCase[] = [
	['the requester approves their own request', request, alice, hash, 1, 'APPROVAL_SELF', 'alice made request 7c1e0000-0000-4000-8000-000000000001 and cannot approve it; it needs 1 more of: token:lead-*'],
	['a new token under the requester\'s name', request, aliceAgain, hash, 1, 'APPROVAL_SELF', 'alice made request'],
	['a token matching the rule but not an operator token', request, leadScoped, hash, 1, 'APPROVER_NOT_ALLOWED', 'token lead-ci is not an operator token; approvers need their own (`xi-exec token create --name NAME --operator`)'],
	['an operator outside the rule', request, dave, hash, 1, 'APPROVER_NOT_ALLOWED', 'dave is not an approver for request 7c1e0000-0000-4000-8000-000000000001; it needs 1 more of: token:lead-*'],
	['an approver after expiry', request, bob, hash, 30, 'APPROVAL_EXPIRED', 'request 7c1e0000-0000-4000-8000-000000000001 expired at 2026-12-06T10:30:00.000Z'],
	['an approver with a changed plan', request, bob, otherHash, 1, 'APPROVAL_PLAN_CHANGED', 'no longer holds: the plan resolved now (hash bbbbbbbbbbbb) differs from the one requested (hash aaaaaaaaaaaa)'],
	['the same approver twice towards a quorum of 2', () => vote(request(2), bob, 1), bob, hash, 2, 'APPROVER_NOT_ALLOWED', 'lead-bob has already approved request 7c1e0000-0000-4000-8000-000000000001; it needs 1 more of: token:lead-* from someone else'],
	['an approver once it is approved', () => vote(request(), bob, 1), carol, hash, 2, 'APPROVAL_CLOSED', 'is already approved (by lead-bob); it waits for alice to run it'],
	['an approver once it was rejected', () => reject(request(), carol, 'not during the freeze'), bob, hash, 2, 'APPROVAL_CLOSED', 'was rejected by lead-carol: not during the freeze'],
	['an approver once it was used', () => claim(vote(request(), bob, 1)), carol, hash, 3, 'APPROVAL_USED', 'was already used by run run-1'],
	['the self-check comes before the plan check (a requester cannot invalidate)', request, alice, otherHash, 1, 'APPROVAL_SELF', 'cannot approve it'],
	['the rule check comes before the plan check (an outsider cannot invalidate)', request, dave, otherHash, 1, 'APPROVER_NOT_ALLOWED', 'is not an approver'],
];

for (const [what, make, voter, planHash, minute, code, wording] of refusedVotes) {
	test(`approve refused: ${what}`, t => {
		const decision = decideVote(make(), voter, planHash, at(minute));
		t.false(decision.ok);
		t.is(decision.ok ? '' : decision.code, code);
		t.true(!decision.ok && decision.reason.includes(wording), decision.ok ? '' : decision.reason);
	});
}

test('approved by one allowed operator: quorum 1', t => {
	const decision = decideVote(request(), bob, hash, at(1), 'looks right');
	t.true(decision.ok);
	t.like(decision.ok ? decision.request : {}, {state: 'approved', approvedAt: at(1).toISOString(), votes: [{token: {id: 'bob-1', name: 'lead-bob'}, at: at(1).toISOString(), comment: 'looks right'}]});
});

test('quorum of 2: one vote keeps it pending, a second distinct approver approves it', t => {
	const once = vote(request(2), bob, 1);
	t.is(once.state, 'pending');
	t.is(outstanding(once), '1 more of: token:lead-*');
	const twice = vote(once, carol, 2);
	t.is(twice.state, 'approved');
	t.deepEqual(twice.votes.map(v => v.token.name), ['lead-bob', 'lead-carol']);
});

test('two rules: each needs its own approvers; a vote counts only where its rule names the voter', t => {
	const both = request(1, [{name: 'leads', approvers: ['token:lead-*'], quorum: 1}, {name: 'security', approvers: ['token:dave'], quorum: 1}]);
	const afterBob = vote(both, bob, 1);
	t.is(afterBob.state, 'pending');
	t.is(outstanding(afterBob), '1 more of: token:dave');
	t.is(vote(afterBob, dave, 2).state, 'approved');
});

test('a changed plan invalidates the request for good, and says why', t => {
	const decision = decideVote(request(), bob, otherHash, at(1));
	t.false(decision.ok);
	const after = decision.ok ? undefined : decision.request;
	t.is(after?.state, 'invalidated');
	t.is(after?.plan, undefined, 'the stored plan (and its arguments) is dropped');
	t.regex(after?.closed?.reason ?? '', /a host joined or left, its tags or allowlist changed, or the arguments differ/);
	const again = decideVote(after!, carol, hash, at(2));
	t.is(again.ok ? '' : again.code, 'APPROVAL_CLOSED');
});

test('expiry on an injected clock: open until the last millisecond, expired at expiresAt', t => {
	const pending = request();
	t.is(expireIfDue(pending, new Date(at(30).getTime() - 1)), undefined);
	const expired = expireIfDue(pending, at(30));
	t.is(expired?.state, 'expired');
	t.regex(expired?.closed?.reason ?? '', /without enough approvals/);
	const approved = vote(request(), bob, 1);
	t.regex(expireIfDue(approved, at(31))?.closed?.reason ?? '', /before it was run/);
	t.is(expireIfDue(claim(approved), at(60)), undefined, 'a used request does not expire');
});

test('reject: an allowed approver, with the reason kept; the requester may withdraw; others may not', t => {
	t.like(reject(request(), bob, 'wrong hosts'), {state: 'rejected', closed: {by: {id: 'bob-1', name: 'lead-bob'}, reason: 'wrong hosts'}});
	t.like(reject(request(), alice, 'asked by mistake'), {state: 'rejected', closed: {by: {id: 'alice-1', name: 'alice'}}});
	const outsider = decideRejection(request(), dave, 'no', at(1));
	t.is(outsider.ok ? '' : outsider.code, 'APPROVER_NOT_ALLOWED');
	const late = decideRejection(request(), bob, 'no', at(45));
	t.is(late.ok ? '' : late.code, 'APPROVAL_EXPIRED');
});

type ClaimCase = [what: string, make: () => ApprovalRequest, claimer: Actor, planHash: string, minute: number, code: string, wording: string];
const refusedClaims: ClaimCase[] = [
	['still pending', request, alice, hash, 1, 'APPROVAL_PENDING', 'still waits for approval (needs 1 more of: token:lead-*)'],
	['by the approver instead of the requester', () => vote(request(), bob, 1), bob, hash, 2, 'APPROVER_NOT_ALLOWED', 'was made by alice; only that token can run it'],
	['by a new token under the requester\'s name', () => vote(request(), bob, 1), aliceAgain, hash, 2, 'APPROVER_NOT_ALLOWED', 'only that token can run it'],
	['a second time', () => claim(vote(request(), bob, 1)), alice, hash, 3, 'APPROVAL_USED', 'an approval runs once'],
	['after expiry', () => vote(request(), bob, 1), alice, hash, 31, 'APPROVAL_EXPIRED', 'expired at 2026-12-06T10:30:00.000Z'],
	['with a host joined since', () => vote(request(), bob, 1), alice, otherHash, 2, 'APPROVAL_PLAN_CHANGED', 'a host joined or left'],
	['once rejected', () => reject(request(), bob, 'no'), alice, hash, 2, 'APPROVAL_CLOSED', 'was rejected by lead-bob: no'],
];

for (const [what, make, claimer, planHash, minute, code, wording] of refusedClaims) {
	test(`run refused: ${what}`, t => {
		const decision = decideClaim(make(), claimer, planHash, at(minute), 'run-2');
		t.is(decision.ok ? '' : decision.code, code);
		t.true(!decision.ok && decision.reason.includes(wording), decision.ok ? '' : decision.reason);
	});
}

test('run: the requester\'s token claims an approved request once; the plan leaves the store', t => {
	const used = claim(vote(request(), bob, 1));
	t.like(used, {state: 'used', usedAt: at(2).toISOString(), runRequestId: 'run-1'});
	t.is(used.plan, undefined);
});

function vote(from: ApprovalRequest, voter: Actor, minute: number): ApprovalRequest {
	const decision = decideVote(from, voter, hash, at(minute));
	if (!decision.ok) {
		throw new Error(decision.reason);
	}

	return decision.request;
}

function reject(from: ApprovalRequest, by: Actor, reason: string): ApprovalRequest {
	const decision = decideRejection(from, by, reason, at(1));
	if (!decision.ok) {
		throw new Error(decision.reason);
	}

	return decision.request;
}

function claim(from: ApprovalRequest): ApprovalRequest {
	const decision = decideClaim(from, alice, hash, at(2), 'run-1');
	if (!decision.ok) {
		throw new Error(decision.reason);
	}

	return decision.request;
}
