/**
 * Two-person approval per runbook step, over real agents and real processes: a step the
 * approvals policy names waits (the runbook run says so, with the request's id) until another
 * operator approves from another process, then runs exactly the approved plan, carrying the
 * approval; the steps before it ran without one. With --no-wait the run ends `waiting` (exit 3)
 * and `--resume` continues the step under the same request once it is approved.
 */
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test, {type ExecutionContext} from 'ava';
import {controllerPaths} from '../../source/home.js';
import {controllerCli, createController, enrolAgent, freePort, installFixture, installScript, runCli, spawnCli, startAgent, waitFor} from '../helpers/fleet.js';

type Fleet = {controller: string; env: Record<string, string>; tokens: Record<string, string>};

async function gatedFleet(t: ExecutionContext): Promise<Fleet> {
	const controller = await createController();
	writeFileSync(join(controller, 'policy.json'), JSON.stringify({approvals: {rules: [
		{name: 'production', scripts: ['echo-args'], on: ['env=production'], approvers: ['token:lead-*'], expires: '30m'},
	]}}));
	const echoArgs = installScript('echo-args', '#!/bin/sh\nfor a in "$@"; do printf "[%s]\\n" "$a"; done\n');
	const stops: Array<() => Promise<void>> = [];
	t.teardown(async () => Promise.all(stops.map(async stop => stop())));
	for (const name of ['web1', 'web2']) {
		const agent = await enrolAgent(controller, {name, port: freePort(), tags: ['env=production'], scripts: {'echo-args': echoArgs, hello: installFixture('hello.sh')}});
		stops.push((await startAgent(agent)).stop);
	}

	const env = {XI_EXEC_HOME: controller, XI_EXEC_TOKEN: ''};
	const tokens: Record<string, string> = {};
	for (const name of ['alice', 'lead-bob']) {
		tokens[name] = (JSON.parse((await runCli(controllerCli, ['token', 'create', '--name', name, '--operator', '--json'], env)).stdout) as {token: string}).token;
	}

	mkdirSync(join(controller, 'runbooks'));
	writeFileSync(join(controller, 'runbooks', 'deploy.yaml'), `steps:
  - {name: before, script: hello, on: web1}
  - {name: deploy, script: echo-args, on: env=production, args: [v2]}
  - {name: after, script: hello, on: web2, when: always}
`);
	return {controller, env, tokens};
}

function auditOf(controller: string): Array<Record<string, unknown>> {
	return readFileSync(controllerPaths(controller).auditLog, 'utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>);
}

test('a step that needs approval waits for it, then runs the approved plan; the steps before it did not wait', async t => {
	const {controller, env, tokens} = await gatedFleet(t);
	const run = spawnCli(controllerCli, ['runbook', 'run', 'deploy'], {...env, XI_EXEC_TOKEN: tokens['alice']!});
	const approval = await waitFor(() => /^-- deploy: waiting for approval: request (\S+) \(needs .*\); `xi-exec approve \1` from another operator's token$/m.exec(run.output().stdout)?.[1], 'the deploy step waiting for approval', {state: () => run.output()});
	t.regex(run.output().stdout, /^-- before: ok/m);
	const id = /^runbook deploy, run ([\da-f-]{36})$/m.exec(run.output().stdout)![1]!;
	t.is((JSON.parse((await runCli(controllerCli, ['runbooks', 'show', id, '--json'], env)).stdout) as {steps: Array<{name: string; status: string}>}).steps.at(-1)?.status, 'waiting');

	const approved = await runCli(controllerCli, ['approve', approval], {...env, XI_EXEC_TOKEN: tokens['lead-bob']!});
	t.is(approved.code, 0, approved.stderr);
	const result = await run.done;
	t.is(result.code, 0, result.stderr + result.stdout);
	t.regex(result.stdout, /^web1 \| \[v2\]$/m);
	t.regex(result.stdout, /^web2 \| \[v2\]$/m);
	const document = JSON.parse((await runCli(controllerCli, ['runbooks', 'show', id, '--json'], env)).stdout) as {status: string; steps: Array<{name: string; status: string; requestId: string}>};
	t.deepEqual([document.status, ...document.steps.map(step => `${step.name} ${step.status}`)], ['ok', 'before ok', 'deploy ok', 'after ok']);
	const requests = auditOf(controller).filter(record => record['event'] === 'run.request' && document.steps.some(step => step.requestId === record['requestId']));
	t.deepEqual(requests.map(record => [(record['parent'] as {step: string}).step, (record['approval'] as {id: string} | undefined)?.id ?? null]), [['before', null], ['deploy', approval], ['after', null]]);
});

type RunbookDocument = {id: string; status: string; reason: string | null; resumeOf: string | null; steps: Array<{name: string; status: string; requestId: string | null; reason: string | null; carriedFrom?: string; approval?: {id: string; needs: string; expiresAt: string}}>; notRun: Array<{step: string; reason: string}>};

test('--no-wait: the run ends waiting (exit 3) with the request; --resume continues the step under that request once approved', async t => {
	const {controller, env, tokens} = await gatedFleet(t);
	const alice = {...env, XI_EXEC_TOKEN: tokens['alice']!};
	const first = await runCli(controllerCli, ['runbook', 'run', 'deploy', '--no-wait'], alice);
	t.is(first.code, 3, first.stderr + first.stdout);
	const approval = /^-- deploy: waiting for approval: request (\S+) \(needs 1 of: token:lead-\*\); `xi-exec approve \1` from another operator's token$/m.exec(first.stdout)?.[1];
	t.truthy(approval, first.stdout);
	const id = /^runbook deploy, run ([\da-f-]{36})$/m.exec(first.stdout)![1]!;
	t.regex(first.stdout, new RegExp(`^runbook deploy: waiting \\(step deploy waits for approval \\(request ${approval!}\\)\\) {3}run ${id}$`, 'm'));
	t.is(first.stderr, `xi-exec: once approved, continue it with \`xi-exec runbook run --resume ${id}\` (with this token).\n`);
	// Nothing of the step ran, and the always step after it waits too.
	t.notRegex(first.stdout, /\[v2\]/);
	const waiting = JSON.parse((await runCli(controllerCli, ['runbooks', 'show', id, '--json'], env)).stdout) as RunbookDocument;
	t.is(waiting.status, 'waiting');
	t.deepEqual(waiting.steps.map(step => [step.name, step.status, step.approval?.id ?? null]), [['before', 'ok', null], ['deploy', 'waiting', approval]]);
	t.deepEqual(waiting.notRun, [{step: 'after', reason: 'the runbook waits for approval'}]);
	const deployRequest = waiting.steps[1]!.requestId!;

	// Resumed before anyone approved, without waiting: the same request, still waiting; no second request opened.
	const early = await runCli(controllerCli, ['runbook', 'run', '--resume', id, '--no-wait', '--json'], alice);
	t.is(early.code, 3, early.stderr);
	const still = JSON.parse(early.stdout) as RunbookDocument;
	t.deepEqual(still.steps.map(step => [step.name, step.status, step.requestId, step.approval?.id ?? null]), [['before', 'ok', waiting.steps[0]!.requestId, null], ['deploy', 'waiting', deployRequest, approval]]);
	t.is(auditOf(controller).filter(record => record['event'] === 'approval.requested').length, 1);

	// Approved by another operator: resuming (the latest run) runs the step as approved, under its request id.
	t.is((await runCli(controllerCli, ['approve', approval!], {...env, XI_EXEC_TOKEN: tokens['lead-bob']!})).code, 0);
	const resumed = await runCli(controllerCli, ['runbook', 'run', '--resume', still.id, '--json'], alice);
	t.is(resumed.code, 0, resumed.stderr);
	const done = JSON.parse(resumed.stdout) as RunbookDocument;
	t.deepEqual(done.steps.map(step => [step.name, step.status, step.carriedFrom ?? null]), [['before', 'ok', still.id], ['deploy', 'ok', null], ['after', 'ok', null]]);
	t.is(done.steps[1]!.requestId, deployRequest);
	const shown = JSON.parse((await runCli(controllerCli, ['runs', 'show', deployRequest, '--json'], env)).stdout) as {parent: {runbook: string; step: string}; results: Array<{agent: string; stdout: string}>};
	t.deepEqual(shown.parent, {runbook: done.id, step: 'deploy'});
	t.deepEqual(shown.results.map(result => [result.agent, result.stdout]), [['web1', '[v2]\n'], ['web2', '[v2]\n']]);
	const audit = auditOf(controller);
	t.deepEqual(audit.filter(record => record['event'] === 'run.request' && record['requestId'] === deployRequest).map(record => (record['approval'] as {id: string}).id), [approval]);
	t.deepEqual(audit.filter(record => record['event'] === 'approval.executed').map(record => record['requestId']), [deployRequest]);

	// The request is used: resuming the waiting run again is refused at the step, by the claim.
	const again = await runCli(controllerCli, ['runbook', 'run', '--resume', id, '--json'], alice);
	t.is(again.code, 1, again.stderr);
	t.deepEqual((JSON.parse(again.stdout) as RunbookDocument).steps.map(step => [step.name, step.status, (step as {code?: string}).code ?? null]), [['before', 'ok', null], ['deploy', 'error', 'APPROVAL_USED'], ['after', 'ok', null]]);

	// A run left waiting can be cancelled: its record ends cancelled, during the step that waited.
	const left = await runCli(controllerCli, ['runbook', 'run', 'deploy', '--no-wait', '--json'], alice);
	t.is(left.code, 3, left.stderr);
	const leftId = (JSON.parse(left.stdout) as RunbookDocument).id;
	const cancelled = await runCli(controllerCli, ['runbook', 'cancel', leftId], env);
	t.is(cancelled.code, 0, cancelled.stderr);
	t.is(cancelled.stdout, `Runbook run ${leftId} was not running (its controller stopped, or it waited for approval): its record now ends cancelled; \`xi-exec runbook run --resume ${leftId}\` continues it.\n`);
	const ended = JSON.parse((await runCli(controllerCli, ['runbooks', 'show', leftId, '--json'], env)).stdout) as RunbookDocument & {cancel: {during: string[]}};
	t.deepEqual([ended.status, ended.reason, ended.cancel.during], ['cancelled', 'the runbook was cancelled while it waited for approval', ['deploy']]);
	// Its request is withdrawn, recorded, and can no longer be approved; resuming asks again.
	const leftApproval = (JSON.parse(left.stdout) as RunbookDocument).steps[1]!.approval!.id;
	const reason = `runbook run ${leftId} was cancelled while step deploy waited for it`;
	t.like(JSON.parse((await runCli(controllerCli, ['approvals', 'show', leftApproval, '--json'], env)).stdout), {state: 'rejected', closed: {reason: `withdrawn: ${reason}`}});
	t.like(auditOf(controller).findLast(record => record['approvalId'] === leftApproval), {event: 'approval.withdrawn', reason});
	t.regex((await runCli(controllerCli, ['approve', leftApproval], {...env, XI_EXEC_TOKEN: tokens['lead-bob']!})).stderr, /was rejected: withdrawn: .*\(APPROVAL_CLOSED\)/);
	const askedAgain = await runCli(controllerCli, ['runbook', 'run', '--resume', leftId, '--no-wait', '--json'], alice);
	t.is(askedAgain.code, 3, askedAgain.stderr);
	const again2 = (JSON.parse(askedAgain.stdout) as RunbookDocument).steps.find(step => step.name === 'deploy')!;
	t.is(again2.status, 'waiting');
	t.not(again2.approval!.id, leftApproval);
});

test('cancelling a runbook run while its step waits for approval withdraws the request', async t => {
	const {controller, env, tokens} = await gatedFleet(t);
	const run = spawnCli(controllerCli, ['runbook', 'run', 'deploy'], {...env, XI_EXEC_TOKEN: tokens['alice']!});
	const approval = await waitFor(() => /^-- deploy: waiting for approval: request (\S+) /m.exec(run.output().stdout)?.[1], 'the deploy step waiting for approval', {state: () => run.output()});
	const id = /^runbook deploy, run ([\da-f-]{36})$/m.exec(run.output().stdout)![1]!;
	t.is((await runCli(controllerCli, ['runbook', 'cancel', id], env)).code, 0);
	const result = await run.done;
	t.not(result.code, 0);
	t.regex(result.stdout, /cancelled/);
	const withdrawn = auditOf(controller).filter(record => record['approvalId'] === approval);
	t.deepEqual(withdrawn.map(record => record['event']), ['approval.requested', 'approval.withdrawn']);
	t.like(withdrawn[1], {reason: `runbook run ${id} was cancelled while step deploy waited for it`});
	t.like(JSON.parse((await runCli(controllerCli, ['approvals', 'show', approval, '--json'], env)).stdout), {state: 'rejected'});
	t.is((JSON.parse((await runCli(controllerCli, ['approvals', '--json'], env)).stdout) as {approvals: unknown[]}).approvals.length, 0);
});
