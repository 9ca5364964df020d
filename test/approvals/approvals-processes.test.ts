/* eslint-disable @typescript-eslint/no-explicit-any -- the tests read JSON answers loosely, as a client would. */
/**
 * Two-person approval across real processes: two `xi-exec serve` controllers on one home, `xi-exec`
 * CLI processes for each operator, two agents whose reference hook runs in central mode against
 * the first controller and whose own policy allows the script only with an approval.
 *
 * - Quorum 2: the requester (whose name the approvers' glob matches) cannot count, one approver
 *   cannot count twice; a second distinct approver approves.
 * - Another operator's token cannot run it; both controllers asked to run it at once start one
 *   run, the other answers APPROVAL_USED.
 * - Each agent's hook asked the controller's /v1/policy/check, which confirmed the approval
 *   (the decision names the approvers and the approval); the agents' records carry its id.
 * - Replay to another host set: an approved request whose host set changed since (a host
 *   joined) is refused when it is run, and nothing runs; an approval that expired before it was
 *   run is refused.
 */
import {readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {openApprovalStore} from '../../source/approvals/store.js';
import test from 'ava';
import {agentPaths} from '../../agent/home.js';
import {controllerPaths, loadServerCredentials} from '../../source/home.js';
import {call, localPolicyHook} from '../api/api-fleet.js';
import {controllerCli, createController, enrolAgent, freePort, installScript, runCli, spawnCli, startAgent, waitFor, type RunningAgent, type TestAgent} from '../helpers/fleet.js';

type Records = Array<Record<string, any>>;
const echoArgs = '#!/bin/sh\nfor a in "$@"; do printf "[%s]\\n" "$a"; done\n';

function jsonLines(path: string): Records {
	return readFileSync(path, 'utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, any>);
}

test('quorum 2 across processes, one run from two controllers, the agents\' central check confirms it; a changed host set and an expiry are refused', async t => {
	const controller = await createController();
	const paths = controllerPaths(controller);
	writeFileSync(join(controller, 'policy.json'), JSON.stringify({approvals: {rules: [
		{name: 'two leads', scripts: ['echo-args'], on: ['env=production'], approvers: ['token:lead-*'], quorum: 2, expires: '30m'},
	]}}));
	const env = {XI_EXEC_HOME: controller, XI_EXEC_TOKEN: ''};
	const serve = () => {
		const started = spawnCli(controllerCli, ['serve', '--listen', '127.0.0.1:0'], env);
		t.teardown(() => {
			started.child.kill('SIGTERM');
		});
		return waitFor(() => /Listening on https:\/\/127\.0\.0\.1:(\d+) /.exec(started.output().stdout)?.[1], 'xi-exec serve to listen', {state: () => started.output()}).then(Number);
	};

	const [first, second] = await Promise.all([serve(), serve()]);
	const script = installScript('echo-args', echoArgs);
	const running: RunningAgent[] = [];
	t.teardown(async () => Promise.all(running.map(async agent => agent.stop())));
	const add = async (name: string): Promise<TestAgent> => {
		const agent = await enrolAgent(controller, {name, port: freePort(), tags: ['env=production'], scripts: {'echo-args': script}});
		// The agent's own rule: echo-args only in a run that carries an approval; and the controller confirms it.
		writeFileSync(join(agent.home, 'policy.json'), JSON.stringify({rules: [{name: 'two people', effect: 'allow', callers: ['*'], scripts: ['echo-args'], approved: true}], central: {url: `https://127.0.0.1:${first}`}}));
		const config = JSON.parse(readFileSync(agentPaths(agent.home).config, 'utf8')) as Record<string, unknown>;
		writeFileSync(agentPaths(agent.home).config, JSON.stringify({...config, hook: localPolicyHook, hookInterpreter: process.execPath}));
		running.push(await startAgent(agent));
		return agent;
	};

	const agents = [await add('web1'), await add('web2')];
	const tokens: Record<string, string> = {};
	for (const name of ['lead-alice', 'lead-bob', 'lead-carol', 'dave']) {
		const created = await runCli(controllerCli, ['token', 'create', '--name', name, '--operator', '--json'], env);
		tokens[name] = (JSON.parse(created.stdout) as {token: string}).token;
	}

	const cli = async (who: string, ...args: string[]) => runCli(controllerCli, args, {...env, XI_EXEC_TOKEN: tokens[who]!});
	const ask = async (...args: string[]) => {
		const asked = await cli('lead-alice', 'run', 'echo-args', '--on', 'env=production', '--no-wait', '--json', '--', ...args);
		t.is(asked.code, 3, asked.stderr);
		return (JSON.parse(asked.stdout) as {approval: {id: string}}).approval.id;
	};

	const id = await ask('hello');
	// Quorum 2: the requester's own vote, and one approver's second, do not count.
	t.regex((await cli('lead-alice', 'approve', id)).stderr, /Lead-alice made request .* cannot approve it; it needs 2 more of: token:lead-\*\. \(APPROVAL_SELF\)/);
	const one = await cli('lead-bob', 'approve', id);
	t.is(one.code, 0, one.stderr);
	t.regex((await cli('lead-bob', 'approvals', 'show', id)).stdout, /pending/);
	t.regex((await cli('lead-bob', 'approve', id)).stderr, /Lead-bob has already approved request .*; it needs 1 more of: token:lead-\* from someone else.*\(APPROVER_NOT_ALLOWED\)/);
	t.is((await cli('lead-carol', 'approve', id)).code, 0);

	// Another operator cannot run alice's approval; then both controllers are asked at once.
	const ca = loadServerCredentials(paths).ca;
	const dave = await call({port: second, ca}, 'POST', `/v1/approvals/${id}/run`, {token: tokens['dave']!, body: {}});
	t.like(dave.json(), {error: {code: 'APPROVER_NOT_ALLOWED'}});
	t.is(dave.status, 403);
	const both = await Promise.all([first, second].map(async port => call({port, ca}, 'POST', `/v1/approvals/${id}/run`, {token: tokens['lead-alice']!, body: {}})));
	const ran = both.filter(answer => answer.status === 200);
	t.is(ran.length, 1, both.map(answer => answer.text).join('\n'));
	t.like(both.find(answer => answer.status !== 200)?.json(), {error: {code: 'APPROVAL_USED'}});
	const run = ran[0]!.json() as {requestId: string; results: Array<{agent: string; status: string; stdout: string}>};
	t.deepEqual(run.results.map(result => [result.agent, result.status, result.stdout]).sort(), [['web1', 'ok', '[hello]\n'], ['web2', 'ok', '[hello]\n']]);

	// The controller's records: one request, approvals by two, one execution; the plan hash is the run's.
	const mine = jsonLines(paths.auditLog).filter(record => record['approvalId'] === id || record['approval']?.id === id);
	t.deepEqual(mine.filter(record => record['event'] !== 'approval.refused').map(record => record['event']), ['approval.requested', 'approval.approved', 'approval.approved', 'approval.executed', 'run.request', 'policy.decision', 'policy.decision']);
	// The central endpoint's answer to each agent's hook, recorded where it was decided.
	t.deepEqual(mine.filter(record => record['event'] === 'policy.decision').map(record => [record['agent'], record['allowed'], record['requestId']]).sort(), [['web1', true, run.requestId], ['web2', true, run.requestId]]);
	const planHash = mine[0]!['planHash'] as string;
	t.like(mine.find(record => record['event'] === 'run.request'), {requestId: run.requestId, planHash, approval: {id, approvers: ['lead-bob', 'lead-carol'], planHash}});
	t.deepEqual(mine.filter(record => record['event'] === 'approval.refused').map(record => record['code']).sort(), ['APPROVAL_SELF', 'APPROVAL_USED', 'APPROVER_NOT_ALLOWED', 'APPROVER_NOT_ALLOWED']);
	// Each agent's hook asked the first controller, which confirmed the approval.
	for (const agent of agents) {
		const records = jsonLines(agentPaths(agent.home).auditLog).filter(record => record['requestId'] === run.requestId);
		t.like(records.find(record => record['event'] === 'decision'), {approvalId: id, reason: `allowed by rule "two people"; central policy: token lead-alice may run echo-args on ${agent.name}; approved by lead-bob, lead-carol (approval ${id})`});
	}

	// Replay to another host set: approved for web1 and web2, then web3 joins; running it is refused, nothing runs.
	const later = await ask('again');
	await cli('lead-bob', 'approve', later);
	await cli('lead-carol', 'approve', later);
	agents.push(await add('web3'));
	const replay = await cli('lead-alice', 'run', '--approved', later, '--json');
	t.is(replay.code, 2, replay.stdout + replay.stderr);
	t.like(JSON.parse(replay.stdout), {error: {code: 'APPROVAL_PLAN_CHANGED'}});
	t.regex((JSON.parse(replay.stdout) as {error: {message: string}}).error.message, /differs from the one requested \(hash [\da-f]{12}\): web3 joined; ask again\.$/);
	t.false(jsonLines(paths.auditLog).some(record => record['event'] === 'run.request' && record['approval']?.id === later));
	t.like(jsonLines(paths.auditLog).findLast(record => record['approvalId'] === later), {event: 'approval.refused', action: 'run', code: 'APPROVAL_PLAN_CHANGED', by: {name: 'lead-alice'}});

	// An approval lasts no longer than its request: approved, then expired before it was run.
	const last = await ask('late');
	await cli('lead-bob', 'approve', last);
	await cli('lead-carol', 'approve', last);
	// Through the store: a hand edit of approvals.json is refused by its integrity check.
	await openApprovalStore(controller).update(state => ({...state, requests: state.requests.map(request => (request.id === last ? {...request, expiresAt: new Date(Date.now() - 1000).toISOString()} : request))}));
	const expired = await cli('lead-alice', 'run', '--approved', last);
	t.is(expired.code, 2);
	t.regex(expired.stderr, /expired at .*\(APPROVAL_EXPIRED\)/);
	t.deepEqual(jsonLines(paths.auditLog).filter(record => record['approvalId'] === last).map(record => record['event']).slice(-2), ['approval.expired', 'approval.refused']);
});
