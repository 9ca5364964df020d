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
import {resolvePlan} from '../../source/core/run-plan.js';
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
	t.deepEqual(outcome.results.map(result => [result.agent, result.status]), [['web1', 'ok']]);
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
