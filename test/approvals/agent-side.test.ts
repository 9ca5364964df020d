/**
 * An approval as agents see it: the claim on the wire (decoded or refused), the hook's policy
 * insisting on one (`"approved": true`), and the central endpoint confirming it against the
 * controller's record of the request and the approvals store — each refusal worded, as a table.
 */
import test from 'ava';
import {decidePolicy, asRequestRecord, type PolicyContext, type RequestRecord} from '../../source/api/policy-decision.js';
import {approvalClaim} from '../../source/approvals/confirm.js';
import type {ApprovalRequest} from '../../source/approvals/request.js';
import {argsHash} from '../../source/audit/record.js';
import {evaluate, parsePolicy} from '../../source/policy/engine.js';
import {decodeRequest} from '../../source/protocol/decode.js';
import type {ApprovalClaim} from '../../source/protocol/frames.js';
import type {TokenRecord} from '../../source/policy/tokens.js';
import type {AgentRecord} from '../../source/registry/model.js';
import {approvalFor} from '../../source/run/agent-request.js';

const now = new Date('2026-12-06T12:00:00Z');
const planHash = 'e'.repeat(64);
const used: ApprovalRequest = {
	id: '7c1e0000-0000-4000-8000-000000000001',
	state: 'used',
	planHash,
	summary: {script: 'restart', args: ['nginx'], targets: ['web1']},
	requester: {token: {id: 'aaaaaaaaaaaa', name: 'alice'}, caller: 'api:alice', ai: false},
	needs: [{name: 'prod', approvers: ['token:lead-*'], quorum: 1}],
	createdAt: '2026-12-06T11:50:00.000Z',
	expiresAt: '2026-12-06T12:50:00.000Z',
	votes: [{token: {id: 'bbbbbbbbbbbb', name: 'lead-bob'}, at: '2026-12-06T11:55:00.000Z'}],
	approvedAt: '2026-12-06T11:55:00.000Z',
	usedAt: '2026-12-06T11:59:00.000Z',
	runRequestId: 'r-0000001',
};
const claim: ApprovalClaim = approvalClaim(used);

test('the claim a run carries: id, approvers, when, the plan hash', t => {
	t.deepEqual(claim, {id: used.id, approvers: ['lead-bob'], at: '2026-12-06T11:55:00.000Z', planHash});
});

const frame = (approval: unknown) => JSON.stringify({v: 1, id: 'r-0000001', msg: 'm-00000001', ts: now.getTime(), type: 'run', script: 'restart', args: [], caller: 'c', approval});

test('on the wire: a well-formed claim is decoded; anything else is a protocol error naming the field', t => {
	const decoded = decodeRequest(frame(claim));
	t.true(decoded.ok);
	t.deepEqual(decoded.ok && decoded.frame.type === 'run' ? decoded.frame.approval : undefined, claim);
	for (const bad of [null, 'x', [], {...claim, planHash: 'E'.repeat(64)}, {...claim, approvers: []}, {...claim, approvers: Array.from({length: 11}, () => 'a')}, {...claim, id: 'a\u001Bb'}, {...claim, extra: 1}, {id: claim.id, approvers: claim.approvers, at: claim.at}]) {
		const result = decodeRequest(frame(bad));
		t.false(result.ok, JSON.stringify(bad));
		t.regex(result.ok ? '' : result.error.message, /field "approval" must be/);
	}
});

test('an agent\'s own policy can insist on an approval for its scripts ("approved": true on an allow rule)', t => {
	const parsed = parsePolicy({rules: [{name: 'drops need two people', effect: 'allow', callers: ['*'], scripts: ['drop-*'], approved: true}]});
	t.true(parsed.ok);
	const policy = parsed.ok ? parsed.policy : {rules: []};
	t.like(evaluate(policy, {caller: 'c', script: 'drop-table', args: [], approved: true}, now, {}), {allowed: true});
	t.deepEqual(evaluate(policy, {caller: 'c', script: 'drop-table', args: []}, now, {}), {allowed: false, reason: 'rule "drops need two people" does not allow it: the run carries no two-person approval'});
	for (const bad of [{effect: 'deny', approved: true}, {effect: 'allow', approved: false}, {effect: 'allow', approved: 'yes'}]) {
		const refused = parsePolicy({rules: [{name: 'r', callers: ['*'], scripts: ['*'], ...bad}]});
		t.false(refused.ok);
		t.regex(refused.ok ? '' : refused.problems.join(), /"approved" is true, on an allow rule/);
	}
});

const web1: AgentRecord = {name: 'web1', address: '127.0.0.1:1', tags: {}, serial: '1', fingerprint: 'f', certificateExpires: '2027-01-01T00:00:00Z', pairedAt: '2026-01-01T00:00:00Z'};
const token: TokenRecord = {id: 'aaaaaaaaaaaa', name: 'alice', hash: '0'.repeat(64), scripts: ['*'], on: ['all'], createdAt: '2026-01-01T00:00:00Z', expiresAt: null, revokedAt: null, operator: true};
const context = (fields: Partial<PolicyContext> = {}): PolicyContext => ({requestId: 'r-0000001', agent: {name: 'web1', tags: {}}, script: 'restart', args: ['nginx'], caller: 'api:alice', token: {id: 'aaaaaaaaaaaa', name: 'alice'}, source: '10.0.0.1', timestamp: now.toISOString(), dryRun: false, approval: claim, ...fields});
const record = (fields: Partial<RequestRecord> = {}): RequestRecord => ({event: 'run.request', requestId: 'r-0000001', script: 'restart', argsHash: argsHash(['nginx']), targets: ['web1'], caller: 'api:alice', token: {id: 'aaaaaaaaaaaa', name: 'alice'}, approval: claim, ...fields});

const table: Array<[string, {context?: Partial<PolicyContext>; record?: Partial<RequestRecord>; stored?: ApprovalRequest | null}, boolean, string]> = [
	['the approval the run was sent with, used by this run', {}, true, 'token alice may run restart on web1; approved by lead-bob (approval 7c1e0000-0000-4000-8000-000000000001)'],
	['no approval on either side', {context: {approval: null}, record: {approval: undefined}, stored: null}, true, 'token alice may run restart on web1'],
	['an approval stripped from the run', {context: {approval: null}}, false, 'request r-0000001 was sent with approval 7c1e0000-0000-4000-8000-000000000001, but the agent reports none'],
	['an approval added to a run sent without one', {record: {approval: undefined}}, false, 'the agent reports approval 7c1e0000-0000-4000-8000-000000000001, but request r-0000001 was sent without one'],
	['another approval than recorded', {context: {approval: {...claim, id: '9a2b0000-0000-4000-8000-000000000002'}}}, false, 'the approval the agent reports (9a2b0000-0000-4000-8000-000000000002) is not the one request r-0000001 was sent with (7c1e0000-0000-4000-8000-000000000001)'],
	['another plan hash than recorded', {context: {approval: {...claim, planHash: 'f'.repeat(64)}}}, false, 'the agent reports approval 7c1e0000-0000-4000-8000-000000000001 for plan ffffffffffff, but request r-0000001 was sent for plan eeeeeeeeeeee'],
	['an approval the store does not hold', {stored: null}, false, 'the controller has no approval request 7c1e0000-0000-4000-8000-000000000001'],
	['an approval still pending', {stored: {...used, state: 'approved', runRequestId: undefined}}, false, 'approval 7c1e0000-0000-4000-8000-000000000001 was not used by request r-0000001 (it is approved)'],
	['an approval used by another run', {stored: {...used, runRequestId: 'r-0000002'}}, false, 'approval 7c1e0000-0000-4000-8000-000000000001 was not used by request r-0000001 (it is used, used by r-0000002)'],
	['a stored approval for another plan', {stored: {...used, planHash: 'f'.repeat(64)}}, false, 'approval 7c1e0000-0000-4000-8000-000000000001 is for another plan'],
];

for (const [what, facts, allow, reason] of table) {
	test(`central endpoint ${allow ? 'allows' : 'denies'}: ${what}`, t => {
		const stored = facts.stored === null ? undefined : facts.stored ?? used;
		const answer = decidePolicy({context: context(facts.context), certificateAgent: web1, record: record(facts.record), tokens: [token], now, ...(stored ? {approval: stored} : {})});
		t.deepEqual(answer, {allow, reason});
	});
}

test('the controller\'s run.request record keeps the approval it sent; a malformed one is not read as one', t => {
	const base = {event: 'run.request', requestId: 'r-0000001', script: 's', argsHash: 'h', targets: ['web1'], caller: 'c'};
	t.deepEqual(asRequestRecord({...base, approval: claim})?.approval, claim);
	t.is(asRequestRecord({...base, approval: {id: 'x'}})?.approval, undefined);
});

test('each host is sent the approval with its own entry digest from the approved plan, and none the plan lacks', t => {
	const request = {approval: {...claim, entryDigest: 'd'.repeat(64)}, approvedEntries: {web1: 'a'.repeat(64), web2: 'b'.repeat(64), web3: null}};
	t.deepEqual(approvalFor(request, 'web1'), {...claim, entryDigest: 'a'.repeat(64)});
	t.deepEqual(approvalFor(request, 'web2'), {...claim, entryDigest: 'b'.repeat(64)});
	// A host that did not answer when the plan was made, or one the plan does not hold: no digest, and its agent refuses.
	t.deepEqual(approvalFor(request, 'web3'), claim);
	t.deepEqual(approvalFor(request, 'web4'), claim);
	t.deepEqual(approvalFor({approval: claim}, 'web1'), claim);
	t.is(approvalFor({approvedEntries: request.approvedEntries}, 'web1'), undefined);
});
