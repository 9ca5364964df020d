/**
 * Two-person approval per runbook step, over real agents and real processes: a step the
 * approvals policy names waits (the runbook run says so, with the request's id) until another
 * operator approves from another process, then runs exactly the approved plan, carrying the
 * approval; the steps before it ran without one.
 */
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {controllerPaths} from '../../source/home.js';
import {controllerCli, createController, enrolAgent, freePort, installFixture, installScript, runCli, spawnCli, startAgent, waitFor} from '../helpers/fleet.js';

test('a step that needs approval waits for it, then runs the approved plan; the steps before it did not wait', async t => {
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
`);
	const run = spawnCli(controllerCli, ['runbook', 'run', 'deploy'], {...env, XI_EXEC_TOKEN: tokens['alice']!});
	const approval = await waitFor(() => /^-- deploy: waiting for approval: request (\S+) \(needs .*\); `xi-exec approve \1` from another operator's token$/m.exec(run.output().stdout)?.[1], 'the deploy step waiting for approval', {state: () => run.output()});
	t.regex(run.output().stdout, /^-- before: ok/m);
	const id = /^runbook deploy, run ([\da-f-]{36})$/m.exec(run.output().stdout)![1]!;
	t.is((JSON.parse((await runCli(controllerCli, ['runbooks', 'show', id, '--json'], env)).stdout) as {steps: Array<{name: string; status: string}>}).steps.at(-1)?.status, 'running');

	const approved = await runCli(controllerCli, ['approve', approval], {...env, XI_EXEC_TOKEN: tokens['lead-bob']!});
	t.is(approved.code, 0, approved.stderr);
	const result = await run.done;
	t.is(result.code, 0, result.stderr + result.stdout);
	t.regex(result.stdout, /^web1 \| \[v2\]$/m);
	t.regex(result.stdout, /^web2 \| \[v2\]$/m);
	const document = JSON.parse((await runCli(controllerCli, ['runbooks', 'show', id, '--json'], env)).stdout) as {status: string; steps: Array<{name: string; status: string; requestId: string}>};
	t.deepEqual([document.status, ...document.steps.map(step => `${step.name} ${step.status}`)], ['ok', 'before ok', 'deploy ok']);
	const audit = readFileSync(controllerPaths(controller).auditLog, 'utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>);
	const requests = audit.filter(record => record['event'] === 'run.request' && document.steps.some(step => step.requestId === record['requestId']));
	t.deepEqual(requests.map(record => [(record['parent'] as {step: string}).step, (record['approval'] as {id: string} | undefined)?.id ?? null]), [['before', null], ['deploy', approval]]);
});
