/**
 * The approvals screen on a fake approvals port: the plan in full, approving by typing the number
 * of hosts (a wrong count approves nothing), rejecting with a reason, the core's refusal shown as
 * it is worded, and the badge.
 */
import test from 'ava';
import type {ApprovalsFace} from '../../source/approvals/face.js';
import type {ApprovalRequest} from '../../source/approvals/request.js';
import {ApprovalsBadge} from '../../source/ui/screens/approvals/approvals-badge.js';
import {ApprovalsScreen} from '../../source/ui/screens/approvals/approvals-screen.js';
import {keys, press, renderAt, selected, waitForFrame} from './helpers/frames.js';

const now = Date.parse('2026-12-06T10:01:00Z');

function request(id: string, script: string, targets: string[], args: string[] = []): ApprovalRequest {
	return {
		id,
		state: 'pending',
		planHash: 'ab'.repeat(32),
		summary: {script, args, targets, details: {rollout: {batch: {count: 1}}}},
		requester: {token: {id: 't-alice', name: 'alice'}, caller: 'api:alice', ai: false},
		needs: [{name: 'prod', approvers: ['token:lead-*'], quorum: 1}],
		createdAt: '2026-12-06T10:00:00.000Z',
		expiresAt: '2026-12-06T10:30:00.000Z',
		votes: [],
	};
}

class FakeApprovals implements ApprovalsFace {
	calls: string[] = [];
	refuse: string | undefined;
	constructor(public requests: ApprovalRequest[]) {}
	async list() {
		return this.requests.filter(request => request.state === 'pending' || request.state === 'approved');
	}

	async show(id: string) {
		return this.requests.find(request => request.id === id)!;
	}

	async approve(id: string) {
		this.calls.push(`approve ${id}`);
		if (this.refuse) {
			throw new Error(this.refuse);
		}

		const approved = {...(await this.show(id)), state: 'approved' as const, votes: [{token: {id: 't-bob', name: 'lead-bob'}, at: '2026-12-06T10:01:00.000Z'}]};
		this.requests = this.requests.map(request => request.id === id ? approved : request);
		return approved;
	}

	async reject(id: string, reason: string) {
		this.calls.push(`reject ${id} ${reason}`);
		const rejected = {...(await this.show(id)), state: 'rejected' as const};
		this.requests = this.requests.map(request => request.id === id ? rejected : request);
		return rejected;
	}
}

const first = request('7c1e0000-0000-4000-8000-000000000001', 'restart-db', ['db1', 'db2', 'db3'], ['--now', 'sha256:5e88…']);
const second = request('9a2b0000-0000-4000-8000-000000000002', 'rotate-logs', ['web1']);

function renderScreen(approvals: ApprovalsFace) {
	let backs = 0;
	const rendered = renderAt(<ApprovalsScreen approvals={approvals} height={20} width={80} now={now} refreshMs={0} onBack={() => backs++}/>);
	return {rendered, backs: () => backs};
}

const plan = `request  00000000-0000-0000-0000-000000000000  pending  expires in 29 min
asked    by alice (api:alice) at 2026-12-06T10:00:00.000Z
script   restart-db
args     "--now" "sha256:5e88…"
hosts    3: db[1-3]
rollout  {"batch":{"count":1}}
plan     sha256 abababababababababababababababababababababababababababababababab
needs    1 of: token:lead-* (rule "prod")
approved (nobody yet)`;

test('the list and the selected plan in full: every host, the args as shown, the hash, who must approve', async t => {
	const {rendered} = renderScreen(new FakeApprovals([first, second]));
	t.teardown(rendered.unmount);
	t.is(await waitForFrame(rendered, 'runs wait'), `2 runs wait for approval:
7c1e0000 pending  restart-db     3 hosts  alice    needs 1 more of: token:lead-*
9a2b0000 pending  rotate-logs    1 host   alice    needs 1 more of: token:lead-*

${plan}`);
	t.regex(selected(rendered)[0] ?? '', /^7c1e0000 pending/);
});

test('approve: the typed count must be the number of hosts; a wrong one approves nothing', async t => {
	const approvals = new FakeApprovals([first, second]);
	const {rendered} = renderScreen(approvals);
	t.teardown(rendered.unmount);
	await waitForFrame(rendered, 'runs wait');
	await press(rendered, keys.enter, 'Type the number of hosts (3) to approve, then Enter:');
	await press(rendered, '2', 'then Enter: 2');
	const refused = await press(rendered, keys.enter, 'type 3, the number of hosts');
	t.true(refused.endsWith('type 3, the number of hosts this plan runs on, to approve it'), refused);
	t.deepEqual(approvals.calls, []);
	await press(rendered, keys.backspace, frame => frame.includes('then Enter:') && !frame.includes('then Enter: 2'));
	await press(rendered, 'x3', 'then Enter: 3');
	const done = await press(rendered, keys.enter, 'approved: alice\'s run may start');
	t.deepEqual(approvals.calls, [`approve ${first.id}`]);
	t.true(done.includes('7c1e0000 approved restart-db     3 hosts  alice    approved by lead-bob'), done);
});

test('reject: x, a reason, Enter; an empty reason is refused; Esc leaves the entry, then the screen', async t => {
	const approvals = new FakeApprovals([first, second]);
	const {rendered, backs} = renderScreen(approvals);
	t.teardown(rendered.unmount);
	await waitForFrame(rendered, 'runs wait');
	await press(rendered, keys.down, frame => selected(rendered)[0]?.startsWith('9a2b0000') === true && frame.includes('rotate-logs'));
	await press(rendered, 'x', 'Reason for rejecting, then Enter:');
	await press(rendered, keys.enter, 'type the reason the requester will read');
	await press(rendered, 'change freeze', 'then Enter: change freeze');
	await press(rendered, keys.enter, 'rejected; 9a2b0000 will not run');
	t.deepEqual(approvals.calls, [`reject ${second.id} change freeze`]);
	await press(rendered, keys.enter, 'Type the number of hosts (3)');
	await press(rendered, keys.escape, frame => !frame.includes('Type the number'));
	t.is(backs(), 0);
	rendered.stdin.write(keys.escape);
	await waitForFrame(rendered, () => backs() === 1);
	t.pass();
});

test('the core\'s refusal is shown as worded, and the entry stays for another try', async t => {
	const approvals = new FakeApprovals([first]);
	approvals.refuse = 'Alice made request 7c1e0000-0000-4000-8000-000000000001 and cannot approve it; it needs 1 more of: token:lead-*.';
	const {rendered} = renderScreen(approvals);
	t.teardown(rendered.unmount);
	await waitForFrame(rendered, 'run waits');
	await press(rendered, keys.enter, 'Type the number');
	await press(rendered, '3', 'then Enter: 3');
	const frame = await press(rendered, keys.enter, 'cannot approve it');
	t.true(frame.includes('then Enter: 3'));
});

test('nothing to approve says so', async t => {
	const {rendered} = renderScreen(new FakeApprovals([]));
	t.teardown(rendered.unmount);
	t.is(await waitForFrame(rendered, 'No runs'), 'No runs wait for approval.');
});

test('the badge counts pending requests, and is absent when none wait', async t => {
	const approvals = new FakeApprovals([first, second]);
	const badge = renderAt(<ApprovalsBadge approvals={approvals} refreshMs={20}/>);
	t.teardown(badge.unmount);
	t.is(await waitForFrame(badge, 'awaiting'), ' 2 awaiting approval (A)');
	approvals.requests = [];
	t.is(await waitForFrame(badge, frame => frame === ''), '');
});
