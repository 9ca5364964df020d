/**
 * The run use case as a pair, over a real agent: a request resolved into a plan runs as planned
 * — a host paired after the plan was made is not asked, whatever the selector now matches — and
 * the request's audit record names the plan's hash.
 */
import {X509Certificate} from 'node:crypto';
import test from 'ava';
import {readAuditRecords} from '../../source/audit/read-log.js';
import {openControllerAudit} from '../../source/audit/controller-log.js';
import {executePlan} from '../../source/core/run-execute.js';
import {resolvePlan, type RunRequest} from '../../source/core/run-plan.js';
import {argsHash} from '../../source/audit/record.js';
import type {ErrorCode, XiError} from '../../source/errors.js';
import {createClientContext} from '../../source/dispatch/agent-connection.js';
import {controllerPaths, loadControllerCredentials, openControllerRegistry} from '../../source/home.js';
import {normaliseSerial} from '../../source/pki/fingerprints.js';
import {createController, enrolAgent, freePort, installFixture, startAgent} from '../helpers/fleet.js';

test('a plan runs on its own hosts, not on what its selector matches by then, and its hash is recorded', async t => {
	const home = await createController();
	const hello = installFixture('hello.sh');
	const web1 = await enrolAgent(home, {name: 'web1', port: freePort(), tags: ['role=web'], scripts: {hello}});
	const running = await startAgent(web1);
	t.teardown(async () => running.stop());
	const paths = controllerPaths(home);
	const credentials = loadControllerCredentials(paths);
	const context = createClientContext(credentials);
	const audit = openControllerAudit(paths);
	t.teardown(async () => audit.close());
	const ports = {paths, registry: openControllerRegistry(paths), audit: () => audit, context, controllerSerial: normaliseSerial(new X509Certificate(credentials.cert).serialNumber)};

	const plan = await resolvePlan(ports, {script: 'hello', args: [], on: ['role=web'], parallel: 4, timeoutSeconds: 30, dryRun: false, caller: 'test@here'});
	t.deepEqual(plan.targets, [{name: 'web1', address: `127.0.0.1:${web1.port}`}]);
	// Paired after the plan was made, and matched by its selector: not part of the plan.
	await enrolAgent(home, {name: 'web2', port: freePort(), tags: ['role=web'], scripts: {hello}});

	const execution = await executePlan(ports, plan);
	t.is(execution.requestId, plan.requestId);
	const outcome = await execution.outcome;
	t.deepEqual(outcome.summary, {total: 1, counts: {ok: 1}, notOk: [], unlisted: 0});
	await audit.close();
	const records = readAuditRecords(paths.auditLog).filter(record => record['requestId'] === plan.requestId);
	t.like(records.find(record => record.event === 'run.request'), {script: 'hello', targets: ['web1'], planHash: plan.hash, caller: 'test@here'});
	t.deepEqual(records.filter(record => record.event === 'run.outcome').map(record => record['agent']), ['web1']);
});

test('a refused request leaves a run.refused record and no plan', async t => {
	const home = await createController();
	// Registered, never started: the token is refused before anything is dialled.
	await enrolAgent(home, {name: 'web1', port: freePort(), tags: ['role=web']});
	const paths = controllerPaths(home);
	const credentials = loadControllerCredentials(paths);
	const audit = openControllerAudit(paths);
	t.teardown(async () => audit.close());
	const ports = {paths, registry: openControllerRegistry(paths), audit: () => audit, context: createClientContext(credentials)};
	const error = await t.throwsAsync(resolvePlan(ports, {script: 'hello', args: [], on: ['all'], parallel: 4, timeoutSeconds: 30, dryRun: false, caller: 'test@here', token: 'xi_not-a-token'}));
	t.like(error, {code: 'TOKEN_INVALID'});
	await audit.close();
	t.like(readAuditRecords(paths.auditLog).find(record => record.event === 'run.refused'), {script: 'hello', code: 'TOKEN_INVALID', caller: 'test@here'});
});

/**
 * Each refusal resolvePlan makes before anything is dialled, with its neighbours an attacker
 * would try: the exact code and message, and the one `run.refused` record it leaves (its
 * request id, the selector asked, the arguments as a hash, the reason word for word).
 */
const refusals: Array<{title: string; request: Partial<RunRequest>; code: ErrorCode; message: string | RegExp; script?: string; /** As recorded, when not as asked (a lone surrogate is recorded as U+FFFD). */ recorded?: {args?: string[]; on?: string[]}}> = [
	{title: 'a script name with a space', request: {script: 'Bad Name'}, code: 'NAME_INVALID', message: 'script name "Bad Name" must match [a-z0-9][a-z0-9._-]*; usage: xi-exec run SCRIPT --on SELECTOR [-- ARGS...]. (NAME_INVALID)'},
	{title: 'a path for a script', request: {script: '../../bin/sh'}, code: 'NAME_INVALID', message: /^script name "\.\.\/\.\.\/bin\/sh" must match/},
	{title: 'a script name of 10,000 characters: the record keeps 128', request: {script: 'x'.repeat(9999) + '/'}, code: 'NAME_INVALID', message: /^script name "x{9999}\/" must match/, script: 'x'.repeat(128)},
	{title: 'an argument with a NUL byte', request: {args: ['ok', 'a\0b']}, code: 'ARGS_INVALID', message: 'Arguments refused: argument 2 contains a NUL byte. (ARGS_INVALID)'},
	{title: 'an argument with a lone surrogate (JSON can carry one): refused and recorded, its hash over U+FFFD', request: {args: ['ok', 'a\uD800b']}, code: 'ARGS_INVALID', message: 'Arguments refused: argument 2 is not well-formed Unicode (a lone surrogate), which argv cannot carry as it is. (ARGS_INVALID)', recorded: {args: ['ok', 'a\uFFFDb']}},
	{title: 'a selector with a lone surrogate: refused and recorded as U+FFFD', request: {on: ['web\uDC00']}, code: 'SELECTOR_INVALID', message: /^--on: .* \(SELECTOR_INVALID\)$/, recorded: {on: ['web\uFFFD']}},
	{title: 'a script name with a lone surrogate: refused and recorded as U+FFFD', request: {script: 'hel\uD800lo'}, code: 'NAME_INVALID', message: /^script name "hel\\ud800lo" must match/, script: 'hel\uFFFDlo'},
	{title: 'a selector that does not parse', request: {on: ['role==web']}, code: 'SELECTOR_INVALID', message: /^--on: .* \(SELECTOR_INVALID\)$/},
	{title: 'an exclusion that matches nothing (a misspelt name protects nothing)', request: {on: ['all', '!wbe1']}, code: 'SELECTOR_INVALID', message: '--on !wbe1 matches no registered agent, so it would remove nothing; check the spelling (`xi-exec agents` lists the 2). (SELECTOR_INVALID)'},
	{title: 'a selector that matches nothing', request: {on: ['role=db']}, code: 'NO_TARGETS', message: '--on role=db matches no registered agent (2 registered; `xi-exec agents` lists them). (NO_TARGETS)'},
	{title: 'only unknown names', request: {on: ['web9']}, code: 'NO_TARGETS', message: '--on web9 matches no registered agent (2 registered; `xi-exec agents` lists them). (NO_TARGETS)'},
	{title: 'everything excluded', request: {on: ['all', '!role=web']}, code: 'NO_TARGETS', message: /^--on all --on !role=web matches no registered agent/},
	{title: 'a rerun of hosts unpaired since', request: {rerun: {of: 'r-old', agents: ['web1', 'gone1']}}, code: 'AGENT_UNKNOWN', message: 'Run r-old ran on gone1, no longer in the registry; rerun the others with --on. (AGENT_UNKNOWN)'},
	{title: 'a rerun with no host left', request: {rerun: {of: 'r-old', agents: []}}, code: 'NO_TARGETS', message: 'Run r-old has no host with the statuses asked for; `xi-exec runs show r-old` shows them. (NO_TARGETS)'},
	{title: 'a runbook step\'s host unpaired since', request: {pinned: {agents: ['web1', 'gone1'], since: 'when runbook run rb1 was checked', remedy: 'resume it'}}, code: 'AGENT_UNKNOWN', message: 'gone1 was chosen when runbook run rb1 was checked and is no longer in the registry (unpaired since), so nothing was run; resume it. (AGENT_UNKNOWN)'},
	{title: 'a token that is none', request: {token: 'xi_not-a-token'}, code: 'TOKEN_INVALID', message: /^Token refused: .* \(TOKEN_INVALID\)$/},
];

test('every refusal before dialling is audited: exact code, message and run.refused record', async t => {
	const home = await createController();
	// Registered, never started: nothing here may dial them.
	for (const name of ['web1', 'web2']) {
		await enrolAgent(home, {name, port: freePort(), tags: ['role=web']});
	}

	const paths = controllerPaths(home);
	const audit = openControllerAudit(paths);
	t.teardown(async () => audit.close());
	const ports = {paths, registry: openControllerRegistry(paths), audit: () => audit, context: createClientContext(loadControllerCredentials(paths))};
	const ids: string[] = [];
	for (const [index, row] of refusals.entries()) {
		const request: RunRequest = {requestId: `refusal-${index}`, script: 'hello', args: [], on: ['role=web'], parallel: 4, timeoutSeconds: 30, dryRun: false, caller: 'test@here', source: '192.0.2.7', ...row.request};
		const error = await t.throwsAsync(resolvePlan(ports, request), undefined, row.title);
		t.is((error as XiError).code, row.code, row.title);
		const message = `${error!.message} (${(error as XiError).code})`;
		if (typeof row.message === 'string') {
			t.is(message, row.message, row.title);
		} else {
			t.regex(message, row.message, row.title);
		}

		ids.push(request.requestId!);
	}

	await audit.close();
	const records = readAuditRecords(paths.auditLog);
	for (const [index, row] of refusals.entries()) {
		const request = {script: 'hello', args: [] as string[], on: ['role=web'], ...row.request};
		const mine = records.filter(record => record['requestId'] === ids[index]);
		t.is(mine.length, 1, row.title);
		t.like(mine[0], {event: 'run.refused', code: row.code, caller: 'test@here', source: '192.0.2.7', selector: row.recorded?.on ?? request.on, argsHash: argsHash(row.recorded?.args ?? request.args), script: row.script ?? request.script}, row.title);
		t.true(String(mine[0]!['reason']).length > 0 && !String(mine[0]!['reason']).includes(`(${row.code})`), row.title);
	}

	// Nothing was dialled: no run was recorded in the history.
	t.false(records.some(record => record.event === 'run.request'));
});
