/* eslint-disable @typescript-eslint/no-explicit-any -- the tests read JSON answers loosely, as a client would. */
/**
 * Runbooks over the REST API, in front of real agents: a run answers the same document as the
 * CLI's `runbooks show ID --json`, the per-step events replay as SSE, /openapi.json has one
 * operation per runbook with its parameters' schema, a dry run gives each host's policy answer,
 * and a scoped token reaching outside its scope is refused before anything is dialled.
 */
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import test from 'ava';
import {controllerCli, runCli, spawnCli, waitFor} from '../helpers/fleet.js';
import {call, createToken, followEvents, startApiFleet, type ApiFleet} from './api-fleet.js';

const state = mkdtempSync(join(tmpdir(), 'xi-exec-runbook-api-'));
let fleet: ApiFleet;
let admin: string;

test.before(async () => {
	const check = (name: string) => (name === 'web2' ? `#!/bin/sh\nif [ -f ${state}/${name} ]; then echo healthy; else echo sick; exit 1; fi\n` : '#!/bin/sh\necho healthy\n');
	fleet = await startApiFleet(['web1', 'web2'].map(name => ({name, tags: ['role=web'], scripts: {
		'health-check': {body: check(name), schema: {type: 'array', maxItems: 0}},
		'restart-web': {body: `#!/bin/sh\ntouch ${state}/${name}\necho restarted\n`},
		'wait-for-gate': {body: `#!/bin/sh\necho "waiting for $1"\nwhile [ ! -f ${state}/$1 ]; do sleep 0.05; done\n`},
	}})));
	mkdirSync(join(fleet.home, 'runbooks'));
	writeFileSync(join(fleet.home, 'runbooks', 'incident.yaml'), `description: restart where the check fails
parameters:
  role: {schema: {enum: [web, db]}, default: web}
steps:
  - {name: check, script: health-check, on: {tags: {role: {param: role}}}, onFailure: continue}
  - {name: restart, script: restart-web, on: {failedIn: check}}
  - {name: recheck, script: health-check, on: {failedIn: check}}
`);
	({token: admin} = await createToken(fleet.paths, 'admin', ['*'], ['all']));
});

test.after.always(async () => {
	await fleet?.close();
});

test.serial('/openapi.json has one operation per runbook, its body the runbook\'s parameters', async t => {
	const answer = await call(fleet, 'GET', '/openapi.json', {token: admin});
	t.is(answer.status, 200, answer.text);
	const operation = answer.json().paths['/v1/runbooks/incident/runs'].post;
	t.is(operation.operationId, 'runRunbook_incident');
	t.deepEqual(operation.requestBody.content['application/json'].schema.properties.params, {
		type: 'object',
		additionalProperties: false,
		properties: {role: {enum: ['web', 'db'], default: 'web'}},
		required: [],
	});
});

test.serial('a dry run: the plan with each host\'s policy answer, nothing runs', async t => {
	const answer = await call(fleet, 'POST', '/v1/runbooks/incident/runs', {token: admin, body: {dryRun: true}});
	t.is(answer.status, 200, answer.text);
	const plan = answer.json();
	t.deepEqual(plan.stages.map((stage: any) => stage.steps.map((step: any) => [step.name, step.targets, step.policy.map((each: any) => each.status)])), [
		[['check', ['web1', 'web2'], ['would run', 'would run']]],
		[['restart', ['web1', 'web2'], ['would run', 'would run']]],
		[['recheck', ['web1', 'web2'], ['would run', 'would run']]],
	]);
	const runs = await call(fleet, 'GET', '/v1/runbook-runs', {token: admin});
	t.deepEqual(runs.json().runs, []);
});

test.serial('a run over the API answers the document the CLI shows; its step events replay as SSE', async t => {
	const answer = await call(fleet, 'POST', '/v1/runbooks/incident/runs', {token: admin, body: {params: {role: 'web'}}});
	t.is(answer.status, 200, answer.text);
	const document = answer.json();
	t.is(document.status, 'ok');
	t.deepEqual(document.steps.map((step: any) => [step.name, step.status, step.hosts]), [
		['check', 'failed', {ok: ['web1'], failed: ['web2']}],
		['restart', 'ok', {ok: ['web2'], failed: []}],
		['recheck', 'ok', {ok: ['web2'], failed: []}],
	]);
	t.is(document.caller, 'api:admin');
	const cli = await runCli(controllerCli, ['runbooks', 'show', document.id, '--json'], {XI_EXEC_HOME: fleet.home});
	t.is(cli.code, 0, cli.stderr);
	t.deepEqual(JSON.parse(cli.stdout), document);
	t.deepEqual((await call(fleet, 'GET', `/v1/runbook-runs/${document.id}`, {token: admin})).json(), document);
	const listed = JSON.parse((await runCli(controllerCli, ['runbooks', '--json'], {XI_EXEC_HOME: fleet.home})).stdout);
	t.deepEqual((await call(fleet, 'GET', '/v1/runbook-runs', {token: admin})).json(), listed);
	// Each step's run names its runbook run and step, over the API as on the CLI.
	for (const step of document.steps) {
		const run = (await call(fleet, 'GET', `/v1/runs/${step.requestId}`, {token: admin})).json();
		t.deepEqual(run.parent, {runbook: document.id, step: step.name});
		t.deepEqual(run, JSON.parse((await runCli(controllerCli, ['runs', 'show', step.requestId, '--json'], {XI_EXEC_HOME: fleet.home})).stdout));
	}

	const summaries = (await call(fleet, 'GET', '/v1/runs', {token: admin})).json().runs;
	t.deepEqual(document.steps.map((step: any) => summaries.find((run: any) => run.requestId === step.requestId).parent.step), ['check', 'restart', 'recheck']);

	const events = await followEvents(fleet, `/v1/runbook-runs/${document.id}/events`, admin);
	t.is(events.status, 200);
	t.deepEqual(events.messages.map(message => `${message.id} ${message.event} ${JSON.parse(message.data).step ?? JSON.parse(message.data).status}`), [
		'0 step-started check', '1 step-finished check', '2 step-started restart', '3 step-finished restart', '4 step-started recheck', '5 step-finished recheck', '6 runbook-finished ok',
	]);
});

test.serial('a scoped token reaching a host outside its scope is refused before anything runs, every step named', async t => {
	const {token} = await createToken(fleet.paths, 'web1-only', ['*'], ['web1']);
	const answer = await call(fleet, 'POST', '/v1/runbooks/incident/runs', {token, body: {}});
	t.is(answer.status, 403, answer.text);
	t.deepEqual(answer.json().error.code, 'OUT_OF_SCOPE');
	t.is(answer.json().error.message, [
		'Runbook incident cannot run as it is; nothing was run:',
		'  - step check: token web1-only may not reach web2 (its scope is --on web1)',
		'  - step restart: token web1-only may not reach web2 (its scope is --on web1)',
		'  - step recheck: token web1-only may not reach web2 (its scope is --on web1)',
	].join('\n'));
	const runs = await call(fleet, 'GET', '/v1/runbook-runs', {token: admin});
	t.false(runs.json().runs.some((run: any) => run.caller === 'api:web1-only'));
});

test.serial('parameters failing their schema: 400 with every problem', async t => {
	const answer = await call(fleet, 'POST', '/v1/runbooks/incident/runs', {token: admin, body: {params: {role: 'cache', extra: 1}}});
	t.is(answer.status, 400);
	t.is(answer.json().error.message, 'The parameters of runbook incident are refused; nothing was run:\n  - parameter extra is not declared by runbook incident (it takes role)\n  - parameter role: "cache" must be equal to one of the allowed values ("web", "db")');
});

test.serial('POST /v1/runbook-runs/{id}/cancel stops a runbook another process runs; the record names the API caller', async t => {
	writeFileSync(join(fleet.home, 'runbooks', 'hold.yaml'), `steps:
  - {name: hold, script: wait-for-gate, on: role=web, args: [never]}
  - {name: after, script: health-check, on: web1}
`);
	const run = spawnCli(controllerCli, ['runbook', 'run', 'hold'], {XI_EXEC_HOME: fleet.home});
	await waitFor(() => ([...run.output().stdout.matchAll(/waiting for never/g)].length === 2 ? true : undefined), 'hold waiting on both hosts', {state: () => run.output()});
	const id = /^runbook hold, run ([\da-f-]{36})$/m.exec(run.output().stdout)![1]!;
	const requestId = /^== hold: .* request ([\da-f-]{36})$/m.exec(run.output().stdout)![1]!;
	const answer = await call(fleet, 'POST', `/v1/runbook-runs/${id}/cancel`, {token: admin});
	t.is(answer.status, 200, answer.text);
	// Each host is cancelled by this request or, when the process running the runbook saw the request first, by it.
	const {answers, ...rest} = answer.json().steps[0];
	t.deepEqual({...answer.json(), steps: [rest]}, {id, status: 'cancelling', steps: [{step: 'hold', requestId}]});
	t.deepEqual(answers.map((each: any) => [each.agent, ['cancelled', 'not running'].includes(each.outcome)]), [['web1', true], ['web2', true]]);
	const result = await run.done;
	t.is(result.code, 130, result.stderr);
	const document = (await call(fleet, 'GET', `/v1/runbook-runs/${id}`, {token: admin})).json();
	t.is(document.status, 'cancelled');
	t.deepEqual(document.steps.map((step: any) => [step.name, step.status, step.counts]), [['hold', 'cancelled', {cancelled: 2}]]);
	t.like(document.cancel, {by: 'api:admin', during: ['hold'], before: null});
	t.is(typeof document.cancel.source, 'string');
	t.deepEqual(document.notRun, [{step: 'after', reason: 'the runbook was cancelled'}]);
	const again = await call(fleet, 'POST', `/v1/runbook-runs/${id}/cancel`, {token: admin});
	t.deepEqual(again.json(), {id, status: {ended: 'cancelled'}, steps: []});
});

test.serial('noWait: a step that needs approval ends the run waiting; its SSE events say so; resume runs it under that request once approved', async t => {
	writeFileSync(join(fleet.home, 'policy.json'), JSON.stringify({approvals: {rules: [{name: 'restarts', scripts: ['restart-web'], approvers: ['token:lead-*'], expires: '30m'}]}}));
	t.teardown(() => {
		rmSync(join(fleet.home, 'policy.json'), {force: true});
	});
	writeFileSync(join(fleet.home, 'runbooks', 'gated.yaml'), 'steps:\n  - {name: check, script: health-check, on: web1}\n  - {name: restart, script: restart-web, on: web1}\n');
	const lead = JSON.parse((await runCli(controllerCli, ['token', 'create', '--name', 'lead-api', '--operator', '--json'], {XI_EXEC_HOME: fleet.home})).stdout).token as string;
	const answer = await call(fleet, 'POST', '/v1/runbooks/gated/runs', {token: admin, body: {noWait: true}});
	t.is(answer.status, 200, answer.text);
	const waiting = answer.json();
	const [check, restart] = waiting.steps;
	t.deepEqual([waiting.status, check.status, restart.status], ['waiting', 'ok', 'waiting']);
	t.like(restart.approval, {needs: '1 of: token:lead-*'});
	const events = await followEvents(fleet, `/v1/runbook-runs/${waiting.id}/events`, admin);
	t.deepEqual(events.messages.map(message => message.event), ['step-started', 'step-finished', 'step-started', 'step-waiting', 'step-finished', 'runbook-finished']);
	t.deepEqual(JSON.parse(events.messages[3]!.data), {type: 'step-waiting', step: 'restart', requestId: restart.requestId, approval: restart.approval});
	t.like(JSON.parse(events.messages[5]!.data), {type: 'runbook-finished', status: 'waiting', reason: `step restart waits for approval (request ${restart.approval.id})`});

	t.is((await call(fleet, 'POST', `/v1/approvals/${restart.approval.id}/approve`, {token: lead, body: {}})).status, 200);
	const resumed = await call(fleet, 'POST', `/v1/runbook-runs/${waiting.id}/resume`, {token: admin, body: {}});
	t.is(resumed.status, 200, resumed.text);
	const document = resumed.json();
	t.deepEqual(document.steps.map((step: any) => [step.name, step.status, step.requestId]), [['check', 'ok', check.requestId], ['restart', 'ok', restart.requestId]]);
	t.is((await call(fleet, 'GET', `/v1/runs/${restart.requestId}`, {token: admin})).json().parent.runbook, document.id);
});
