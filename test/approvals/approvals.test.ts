/**
 * The approvals use case on a real store file: each step is audited before it takes effect, a
 * refusal leaves its record, an audit log that cannot write changes nothing, requests survive a
 * new process (a new store on the same file), and two approvers or two runs at once decide one
 * after the other.
 */
import {readFileSync, statSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {approveRequest, authenticateActor, claimApproved, findRequest, listApprovals, rejectRequest, requestApproval, waitForDecision, type ApprovalPorts} from '../../source/approvals/approvals.js';
import type {Actor, ApprovalRequest} from '../../source/approvals/request.js';
import {openApprovalStore} from '../../source/approvals/store.js';
import type {AuditLog} from '../../source/audit/file-log.js';
import type {AuditFields} from '../../source/audit/record.js';
import {XiError} from '../../source/errors.js';
import {hashToken, newToken, type TokenRecord} from '../../source/policy/tokens.js';
import {temporaryDirectory} from '../helpers/fleet.js';

const hash = 'c'.repeat(64);
const alice: Actor = {id: 'alice-1', name: 'alice', operator: true};
const bob: Actor = {id: 'bob-1', name: 'lead-bob', operator: true};
const carol: Actor = {id: 'carol-1', name: 'lead-carol', operator: true};

function recordingAudit(options: {fail?: boolean} = {}): AuditLog & {records: AuditFields[]} {
	const records: AuditFields[] = [];
	return {
		records,
		path: 'memory',
		async append(fields: AuditFields) {
			if (options.fail) {
				throw new XiError('AUDIT_UNAVAILABLE', 'the disk is full');
			}

			records.push(fields);
			return fields as never;
		},
	} as unknown as AuditLog & {records: AuditFields[]};
}

function setup(clock = {now: new Date('2026-12-06T10:00:00Z')}) {
	const home = temporaryDirectory();
	const audit = recordingAudit();
	const ports: ApprovalPorts = {store: openApprovalStore(home), audit, now: () => clock.now};
	return {home, audit, ports, clock};
}

async function open(ports: ApprovalPorts, quorum = 1): Promise<ApprovalRequest> {
	return requestApproval(ports, {
		planHash: hash,
		summary: {script: 'restart-db', args: ['--now'], targets: ['db1']},
		plan: {script: 'restart-db', args: ['--now', 'secret-value'], targets: ['db1']},
		requester: {token: {id: alice.id, name: alice.name}, caller: 'api:alice', ai: false},
		requirement: {rules: [{name: 'prod', approvers: ['token:lead-*'], quorum}], expiresMs: 30 * 60_000},
	});
}

const samePlan = async () => hash;

test('a request is audited, then stored in a 0600 file that a new process reads back', async t => {
	const {home, audit, ports} = setup();
	const request = await open(ports);
	t.like(audit.records[0], {event: 'approval.requested', approvalId: request.id, planHash: hash, script: 'restart-db', args: ['--now'], targets: ['db1'], requester: {id: 'alice-1', name: 'alice'}, expiresAt: '2026-12-06T10:30:00.000Z'});
	const path = join(home, 'approvals.json');
	t.is(statSync(path).mode & 0o777, 0o600);
	const again: ApprovalPorts = {...ports, store: openApprovalStore(home)};
	t.deepEqual((await listApprovals(again)).map(r => r.id), [request.id]);
	t.true(readFileSync(path, 'utf8').includes('secret-value'), 'an open request keeps the plan it will run');
});

test('approve, then the requester claims it once: each step audited; the plan leaves the file', async t => {
	const {home, audit, ports} = setup();
	const request = await open(ports);
	await approveRequest(ports, request.id.slice(0, 8), bob, samePlan, {comment: 'ok', source: '10.0.0.9'});
	t.like(audit.records.at(-1), {event: 'approval.approved', approvalId: request.id, approver: {id: 'bob-1', name: 'lead-bob'}, comment: 'ok', approved: true, approvers: [{id: 'bob-1', name: 'lead-bob'}], source: '10.0.0.9'});
	const {plan, request: used} = await claimApproved(ports, request.id, alice, samePlan, 'run-1');
	t.deepEqual(plan, {script: 'restart-db', args: ['--now', 'secret-value'], targets: ['db1']});
	t.is(used.state, 'used');
	t.like(audit.records.at(-1), {event: 'approval.executed', approvalId: request.id, requestId: 'run-1', approvers: [{id: 'bob-1', name: 'lead-bob'}]});
	t.false(readFileSync(join(home, 'approvals.json'), 'utf8').includes('secret-value'));
	const second = await t.throwsAsync(claimApproved(ports, request.id, alice, samePlan, 'run-2'));
	t.is((second as XiError).code, 'APPROVAL_USED');
	t.like(audit.records.at(-1), {event: 'approval.refused', approvalId: request.id, action: 'run', by: {id: 'alice-1', name: 'alice'}, code: 'APPROVAL_USED'});
});

test('self-approval is refused with its code and leaves an approval.refused record; the request stays pending', async t => {
	const {audit, ports} = setup();
	const request = await open(ports);
	const error = await t.throwsAsync(approveRequest(ports, request.id, alice, samePlan));
	t.is((error as XiError).code, 'APPROVAL_SELF');
	t.regex(error!.message, /^Alice made request .* and cannot approve it; it needs 1 more of: token:lead-\*\.$/);
	t.like(audit.records.at(-1), {event: 'approval.refused', approvalId: request.id, action: 'approve', by: {id: 'alice-1', name: 'alice'}, code: 'APPROVAL_SELF'});
	t.is((await listApprovals(ports))[0]?.state, 'pending');
});

test('a refused approver never makes the controller resolve the plan', async t => {
	const {ports} = setup();
	const request = await open(ports);
	let resolved = 0;
	await t.throwsAsync(approveRequest(ports, request.id, {id: 'x', name: 'mallory', operator: true}, async () => {
		resolved++;
		return hash;
	}), {code: 'APPROVER_NOT_ALLOWED'} as never);
	t.is(resolved, 0);
});

test('a changed plan at approval invalidates the request: approval.invalidated, then approval.refused', async t => {
	const {audit, ports} = setup();
	const request = await open(ports);
	await t.throwsAsync(approveRequest(ports, request.id, bob, async () => 'd'.repeat(64)), {code: 'APPROVAL_PLAN_CHANGED'} as never);
	t.deepEqual(audit.records.slice(-2).map(record => record.event), ['approval.invalidated', 'approval.refused']);
	t.like(audit.records.at(-2), {approvalId: request.id, by: {id: 'bob-1', name: 'lead-bob'}});
	t.deepEqual(await listApprovals(ports), []);
	t.is((await listApprovals(ports, {all: true}))[0]?.state, 'invalidated');
});

test('expiry on the injected clock is recorded once, when it is next looked at', async t => {
	const {audit, ports, clock} = setup();
	const request = await open(ports);
	clock.now = new Date('2026-12-06T10:30:00Z');
	t.deepEqual(await listApprovals(ports), []);
	t.like(audit.records.at(-1), {event: 'approval.expired', approvalId: request.id, expiresAt: '2026-12-06T10:30:00.000Z'});
	await listApprovals(ports);
	t.is(audit.records.filter(record => record.event === 'approval.expired').length, 1);
	await t.throwsAsync(approveRequest(ports, request.id, bob, samePlan), {code: 'APPROVAL_EXPIRED'} as never);
});

test('reject needs a reason; the requester hears who rejected and why', async t => {
	const {audit, ports} = setup();
	const request = await open(ports);
	await t.throwsAsync(rejectRequest(ports, request.id, bob, '  '), {code: 'USAGE', message: /needs a reason/} as never);
	await t.throwsAsync(rejectRequest(ports, request.id, bob, 'a\u001B[2Jb'), {code: 'USAGE', message: /without control characters/} as never);
	await rejectRequest(ports, request.id, bob, 'change freeze until Monday');
	t.like(audit.records.at(-1), {event: 'approval.rejected', approvalId: request.id, by: {id: 'bob-1', name: 'lead-bob'}, reason: 'change freeze until Monday', withdrawn: false});
	const decided = await waitForDecision(ports, request.id);
	t.like(decided, {state: 'rejected', closed: {reason: 'change freeze until Monday'}});
});

test('fail closed: when the audit log cannot write, nothing changes', async t => {
	const {ports, home} = setup();
	const request = await open(ports);
	const broken: ApprovalPorts = {...ports, audit: recordingAudit({fail: true})};
	await t.throwsAsync(approveRequest(broken, request.id, bob, samePlan), {code: 'AUDIT_UNAVAILABLE'} as never);
	await t.throwsAsync(open(broken), {code: 'AUDIT_UNAVAILABLE'} as never);
	const stored = await openApprovalStore(home).read();
	t.is(stored.requests.length, 1);
	t.is(stored.requests[0]?.state, 'pending');
});

test('two approvers at once, quorum 1: one approves, the other is told it is already approved', async t => {
	const {home, ports} = setup();
	const request = await open(ports);
	const results = await Promise.allSettled([bob, carol].map(async voter => approveRequest({...ports, store: openApprovalStore(home)}, request.id, voter, samePlan)));
	t.is(results.filter(result => result.status === 'fulfilled').length, 1);
	const refused = results.find(result => result.status === 'rejected');
	t.is(((refused as PromiseRejectedResult).reason as XiError).code, 'APPROVAL_CLOSED');
	t.is((await listApprovals(ports))[0]?.votes.length, 1);
});

test('two claims at once: one run, the other APPROVAL_USED', async t => {
	const {home, ports} = setup();
	const request = await open(ports);
	await approveRequest(ports, request.id, bob, samePlan);
	const results = await Promise.allSettled(['run-a', 'run-b'].map(async id => claimApproved({...ports, store: openApprovalStore(home)}, request.id, alice, samePlan, id)));
	t.is(results.filter(result => result.status === 'fulfilled').length, 1);
	t.is(((results.find(result => result.status === 'rejected') as PromiseRejectedResult).reason as XiError).code, 'APPROVAL_USED');
});

test('quorum 2 from two approvers, and the wait ends when the second approves', async t => {
	const {ports} = setup();
	const request = await open(ports, 2);
	await approveRequest(ports, request.id, bob, samePlan);
	let ticks = 0;
	const decided = await waitForDecision(ports, request.id, {
		async sleep() {
			ticks++;
			if (ticks === 2) {
				await approveRequest(ports, request.id, carol, samePlan);
			}
		},
	});
	t.is(decided.state, 'approved');
	t.is(ticks, 2);
});

test('ids: the full id, a unique prefix of 4 or more, or a clear refusal', t => {
	const requests = [{id: '7c1e0000-a'}, {id: '7c1f0000-b'}] as ApprovalRequest[];
	t.is(findRequest(requests, '7c1e').id, '7c1e0000-a');
	t.is(findRequest(requests, '7C1F0000-B').id, '7c1f0000-b');
	t.is(findRequest(requests, '7c1e…').id, '7c1e0000-a');
	t.throws(() => findRequest(requests, '7c1'), {message: /give at least 4 characters/});
	t.throws(() => findRequest(requests, '7c1e0000-a0'), {message: /No approval request/});
	t.throws(() => findRequest([...requests, {id: '7c1e1111'} as ApprovalRequest], '7c1e'), {message: /2 approval requests start with "7c1e"/});
});

test('an approval actor is an authenticated token, never an account: none, unknown, revoked', t => {
	const now = new Date('2026-12-06T10:00:00Z');
	const {token, id} = newToken();
	const record: TokenRecord = {id, name: 'lead-bob', hash: hashToken(token), scripts: ['*'], on: ['all'], createdAt: now.toISOString(), expiresAt: null, revokedAt: null, operator: true};
	t.deepEqual(authenticateActor([record], token, now), {id, name: 'lead-bob', operator: true});
	t.false(authenticateActor([{...record, operator: undefined}], token, now).operator);
	t.throws(() => authenticateActor([record], undefined, now), {message: /Approvals act on your own token, not on the account you are logged in as/});
	t.throws(() => authenticateActor([record], 'xie_nope', now), {message: 'Token refused: unknown token.'});
	t.throws(() => authenticateActor([{...record, revokedAt: now.toISOString()}], token, now), {message: /was revoked/});
});
