/**
 * Two-person approval over real agents and real processes: alice requests, bob approves from
 * another process, the run executes exactly the approved hosts (and they see the approval); the
 * requester approving is refused; a second run of one approval is refused while two at once start
 * one run; a host joining between request and approval invalidates it; an expired request is
 * refused; the waiting `run` starts once bob approves. Each refusal's code, and the records left.
 */
import {readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {openApprovalStore} from '../../source/approvals/store.js';
import test from 'ava';
import {agentPaths} from '../../agent/home.js';
import {controllerCli, createController, enrolAgent, freePort, installScript, runCli, spawnCli, startAgent, waitFor, type RunningAgent, type TestAgent} from '../helpers/fleet.js';

const echoArgs = '#!/bin/sh\nfor a in "$@"; do printf "[%s]\\n" "$a"; done\n';
type Records = Array<Record<string, unknown>>;

function jsonLines(path: string): Records {
	return readFileSync(path, 'utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>);
}

async function fleet(t: {teardown: (fn: () => Promise<unknown>) => void}) {
	const controller = await createController();
	writeFileSync(join(controller, 'policy.json'), JSON.stringify({approvals: {rules: [
		{name: 'production', scripts: ['echo-args'], on: ['env=production'], approvers: ['token:lead-*'], expires: '30m'},
	]}}));
	// The hook records the context it is asked with, and allows.
	const contexts = join(controller, '..', 'hook-contexts');
	const hook = installScript('record-hook', `#!/bin/sh\nfile="${contexts}-$(basename "$XI_EXEC_AGENT_HOME")"\ncat >> "$file"\necho >> "$file"\n`);
	const script = installScript('echo-args', echoArgs);
	const agents: TestAgent[] = [];
	const running: RunningAgent[] = [];
	t.teardown(async () => Promise.all(running.map(async agent => agent.stop())));
	const add = async (name: string) => {
		const agent = await enrolAgent(controller, {name, port: freePort(), tags: ['env=production'], scripts: {'echo-args': script}});
		const config = JSON.parse(readFileSync(agentPaths(agent.home).config, 'utf8')) as Record<string, unknown>;
		writeFileSync(agentPaths(agent.home).config, JSON.stringify({...config, hook}));
		agents.push(agent);
		running.push(await startAgent(agent));
		return agent;
	};

	await add('web1');
	await add('web2');
	const env = {XI_EXEC_HOME: controller, XI_EXEC_TOKEN: ''};
	const tokens: Record<string, string> = {};
	for (const [name, flags] of [['alice', ['--operator']], ['lead-bob', ['--operator']], ['lead-carol', ['--operator']], ['lead-ci', ['--scripts', 'echo-args', '--on', 'all']]] as const) {
		const created = await runCli(controllerCli, ['token', 'create', '--name', name, ...flags, '--json'], env);
		tokens[name] = (JSON.parse(created.stdout) as {token: string}).token;
	}

	const as = (who: string) => ({...env, XI_EXEC_TOKEN: tokens[who]!});
	const cli = async (who: string | undefined, ...args: string[]) => runCli(controllerCli, args, who ? as(who) : env);
	return {controller, agents, add, env, as, cli, contexts};
}

function requestIdOf(stdout: string): string {
	return (JSON.parse(stdout) as {approval: {id: string}}).approval.id;
}

test('alice requests, bob approves from another process, the approved hosts run it once and see the approval', async t => {
	const {controller, agents, cli, contexts} = await fleet(t);
	const asked = await cli('alice', 'run', 'echo-args', '--on', 'env=production', '--no-wait', '--json', '--', 'hello');
	t.is(asked.code, 3, asked.stderr);
	const id = requestIdOf(asked.stdout);
	t.like(JSON.parse(asked.stdout), {approval: {id, state: 'pending', summary: {script: 'echo-args', args: ['hello'], targets: ['web1', 'web2']}, requester: {token: {name: 'alice'}}}});
	// The controller policy's answer for each host is part of the request, and shown with its plan.
	const answer = (agent: string) => ({agent, answer: 'approval', rules: ['production'], described: true});
	t.deepEqual((JSON.parse(asked.stdout) as {approval: {summary: {hosts: unknown}}}).approval.summary.hosts, [answer('web1'), answer('web2')]);
	const shown = await cli('lead-bob', 'approvals', 'show', id.slice(0, 8));
	t.regex(shown.stdout, /^hosts {4}2: web\[1-2\]\npolicy {3}approval web\[1-2\]: rule "production" selects them$/m);

	// The requester, a token-less caller, a token that is not an operator's, and a run before approval: refused.
	const self = await cli('alice', 'approve', id);
	t.is(self.code, 2);
	t.regex(self.stderr, /Alice made request .* and cannot approve it; it needs 1 more of: token:lead-\*\. \(APPROVAL_SELF\)/);
	const bare = await cli(undefined, 'approve', id);
	t.regex(bare.stderr, /\(APPROVAL_TOKEN_REQUIRED\)/);
	const scoped = await cli('lead-ci', 'approve', id);
	t.regex(scoped.stderr, /Token lead-ci is not an operator token.*\(APPROVER_NOT_ALLOWED\)/);
	const early = await cli('alice', 'run', '--approved', id);
	t.is(early.code, 3);
	t.regex(early.stderr, /still waits for approval \(needs 1 more of: token:lead-\*\).*\(APPROVAL_PENDING\)/);

	const listed = await cli('lead-bob', 'approvals');
	t.regex(listed.stdout, new RegExp(`^${id.slice(0, 8)} pending  echo-args      2 hosts  alice    needs 1 more of: token:lead-\\*$`, 'm'));
	const approved = await cli('lead-bob', 'approve', id.slice(0, 8), '--comment', 'checked');
	t.is(approved.code, 0, approved.stderr);
	t.regex(approved.stdout, /alice's run of echo-args on 2 hosts may start/);

	// Two runs of one approval at once: one runs, the other is refused.
	const both = await Promise.all([cli('alice', 'run', '--approved', id, '--json'), cli('alice', 'run', '--approved', id, '--json')]);
	const ran = both.filter(result => result.code === 0);
	t.is(ran.length, 1, both.map(result => result.stderr).join('\n'));
	t.regex(both.find(result => result.code !== 0)!.stdout + both.find(result => result.code !== 0)!.stderr, /APPROVAL_USED/);
	const run = JSON.parse(ran[0]!.stdout) as {requestId: string; results: Array<{agent: string; status: string; stdout: string}>};
	t.deepEqual(run.results.map(result => [result.agent, result.status, result.stdout]).sort(), [['web1', 'ok', '[hello]\n'], ['web2', 'ok', '[hello]\n']]);

	// The controller recorded each step before it took effect; the run's request carries the approval.
	const records = jsonLines(join(controller, 'audit', 'controller.jsonl')).filter(record => record['approvalId'] === id || (record['approval'] as {id?: string} | undefined)?.id === id);
	const events = records.map(record => String(record['event']));
	// The losing claim's refusal may land before or after the winner's run.request; the rest is in order.
	t.deepEqual(events.filter(event => event !== 'approval.refused'), ['approval.requested', 'approval.approved', 'approval.executed', 'run.request']);
	t.deepEqual(records.filter(record => record['event'] === 'approval.refused').map(record => record['code']), ['APPROVAL_SELF', 'APPROVER_NOT_ALLOWED', 'APPROVAL_PENDING', 'APPROVAL_USED']);
	t.like(records.find(record => record['event'] === 'approval.requested'), {hosts: [{answer: 'approval', rules: ['production'], described: true, agents: ['web1', 'web2']}]});
	const request = records.find(record => record['event'] === 'run.request')!;
	t.like(request, {requestId: run.requestId, approval: {id, approvers: ['lead-bob']}});
	// Each agent saw it: its records carry the approval id, its hook the whole approval.
	for (const agent of agents) {
		const mine = jsonLines(agentPaths(agent.home).auditLog).filter(record => record['requestId'] === run.requestId);
		t.true(mine.length > 0 && mine.every(record => record['event'] === 'checkpoint' || record['approvalId'] === id), agent.name);
	}

	const seen = agents.flatMap(agent => readFileSync(`${contexts}-${agent.name}`, 'utf8').trim().split('\n').map(line => JSON.parse(line) as {requestId: string; approval: unknown}));
	const hooked = seen.filter(context => context.requestId === run.requestId);
	t.is(hooked.length, 2);
	for (const context of hooked) {
		t.like(context.approval, {id, approvers: ['lead-bob'], planHash: request['approval'] && (request['approval'] as {planHash: string}).planHash});
	}

	const verified = await cli(undefined, 'audit', 'verify', ...agents.flatMap(agent => ['--cross', agentPaths(agent.home).auditLog]));
	t.is(verified.code, 0, verified.stdout + verified.stderr);
});

test('the waiting run starts when an operator approves (two approving at once start one run); a host joining invalidates a request; an expired one is refused', async t => {
	const {controller, add, as, cli} = await fleet(t);
	const waiting = spawnCli(controllerCli, ['run', 'echo-args', '--on', 'env=production', '--', 'now'], as('alice'));
	const id = await waitFor(() => /waiting for approval: request ([\da-f-]{36}) \(needs 1 of: token:lead-\*\)/.exec(waiting.output().stderr)?.[1], 'the run to wait', {state: () => waiting.output()});
	t.regex(waiting.output().stderr, /hosts {4}2: web\[1-2\]/);
	// Two approvers at once, from two processes: one approves, the other is told it already is; one run starts.
	const votes = await Promise.all([cli('lead-carol', 'approve', id), cli('lead-bob', 'approve', id)]);
	t.deepEqual(votes.map(vote => vote.code).sort(), [0, 2], votes.map(vote => vote.stderr).join('\n'));
	// The second vote lands either while the approved request waits for alice's run, or after that
	// run has already used it (a fast run): each answer is exact, and either way one run starts.
	t.regex(votes.find(vote => vote.code === 2)!.stderr, /is already approved \(by lead-(bob|carol)\); it waits for alice to run it\. \(APPROVAL_CLOSED\)|was already used by run [\da-f-]{36} at \S+; an approval runs once\. \(APPROVAL_USED\)/);
	const done = await waiting.done;
	t.is(done.code, 0, done.stderr);
	t.regex(done.stdout, /^web1 \| \[now\]$/m);
	const ofFirst = jsonLines(join(controller, 'audit', 'controller.jsonl')).filter(record => record['approvalId'] === id || (record['approval'] as {id?: string} | undefined)?.id === id);
	t.deepEqual(ofFirst.filter(record => record['event'] !== 'approval.refused').map(record => record['event']), ['approval.requested', 'approval.approved', 'approval.executed', 'run.request']);

	// A host joins between request and approval: the approval is refused and the request is invalid for good.
	const asked = await cli('alice', 'run', 'echo-args', '--on', 'env=production', '--no-wait', '--json', '--', 'x');
	const second = requestIdOf(asked.stdout);
	await add('web3');
	const changed = await cli('lead-bob', 'approve', second);
	t.is(changed.code, 2);
	t.regex(changed.stderr, /no longer holds: the plan resolved now .* differs from the one requested .*: web3 joined; ask again\. \(APPROVAL_PLAN_CHANGED\)/);
	const all = await cli('lead-bob', 'approvals', '--all', '--json');
	t.is((JSON.parse(all.stdout) as {approvals: Array<{id: string; state: string}>}).approvals.find(request => request.id === second)?.state, 'invalidated');

	// Expiry: the request's time is moved into the past, as if it had waited too long.
	const third = requestIdOf((await cli('alice', 'run', 'echo-args', '--on', 'env=production', '--no-wait', '--json')).stdout);
	// Through the store: a hand edit of approvals.json is refused by its integrity check.
	await openApprovalStore(controller).update(state => ({...state, requests: state.requests.map(request => (request.id === third ? {...request, expiresAt: new Date(Date.now() - 1000).toISOString()} : request))}));
	const late = await cli('lead-bob', 'approve', third);
	t.is(late.code, 2);
	t.regex(late.stderr, /expired at .*\(APPROVAL_EXPIRED\)/);
	t.true(jsonLines(join(controller, 'audit', 'controller.jsonl')).some(record => record['event'] === 'approval.expired' && record['approvalId'] === third));
});
