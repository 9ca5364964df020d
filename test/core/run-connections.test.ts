/**
 * The run use case keeps one TLS connection per host for the describe and the run, over a real
 * agent behind a counting TCP proxy (the bench's, no delay): one connection of four round trips,
 * the same outcome as without; and whichever way the run ends early — refused while resolving, a
 * request that cannot be recorded, a host unpaired between the plan and its execution — nothing
 * is left held, and the proxy sees the connection close.
 */
import {X509Certificate} from 'node:crypto';
import type {AddressInfo} from 'node:net';
import test, {type ExecutionContext} from 'ava';
import {createDelayProxy, listenProxy, type DelayProxy} from '../../bench/delay-proxy.js';
import {agentPaths} from '../../agent/home.js';
import {allowScript} from '../../agent/commands.js';
import type {AuditLog} from '../../source/audit/file-log.js';
import {openControllerAudit} from '../../source/audit/controller-log.js';
import {readAuditRecords} from '../../source/audit/read-log.js';
import {executePlan, type RunPorts} from '../../source/core/run-execute.js';
import {resolvePlan, type RunRequest} from '../../source/core/run-plan.js';
import {createClientContext} from '../../source/dispatch/agent-connection.js';
import {createRunConnections, type RunConnections} from '../../source/dispatch/held-connections.js';
import {controllerPaths, loadControllerCredentials, openControllerRegistry} from '../../source/home.js';
import {normaliseSerial} from '../../source/pki/fingerprints.js';
import {collectResults} from '../../source/run/collect-results.js';
import type {AgentResult} from '../../source/run/events.js';
import {unpairAgent} from '../../source/registry/model.js';
import {createController, enrolAgent, freePort, installFixture, startAgent} from '../helpers/fleet.js';

type Fleet = {ports: RunPorts; proxy: DelayProxy; audit: AuditLog; log: string};

/** One agent (`hello`, and `guarded`, which asks for confirmation), reached through a counting proxy. */
async function fleet(t: ExecutionContext): Promise<Fleet> {
	const home = await createController();
	const hello = installFixture('hello.sh');
	const agent = await enrolAgent(home, {name: 'web1', port: freePort(), scripts: {hello}});
	allowScript(agentPaths(agent.home), 'guarded', hello, {description: 'guarded', confirm: true});
	const running = await startAgent(agent);
	t.teardown(async () => running.stop());
	const proxy = createDelayProxy({listen: 0, target: agent.port}, 0);
	await listenProxy(proxy, 0);
	t.teardown(async () => proxy.close());
	const paths = controllerPaths(home);
	const registry = openControllerRegistry(paths);
	const address = `127.0.0.1:${(proxy.server.address() as AddressInfo).port}`;
	await registry.update(current => ({...current, agents: current.agents.map(entry => ({...entry, address}))}));
	const credentials = loadControllerCredentials(paths);
	const audit = openControllerAudit(paths);
	t.teardown(async () => audit.close());
	const ports: RunPorts = {paths, registry, audit: () => audit, context: createClientContext(credentials), controllerSerial: normaliseSerial(new X509Certificate(credentials.cert).serialNumber)};
	return {ports, proxy, audit, log: paths.auditLog};
}

const request = (script: string): RunRequest => ({script, args: [], on: ['web1'], parallel: 4, timeoutSeconds: 30, dryRun: false, caller: 'test@here'});

/** The round trips of each connection the proxy saw close, once `expected` have. */
async function closed(proxy: DelayProxy, expected: number): Promise<number[]> {
	const seen: number[] = [];
	while (seen.length < expected) {
		seen.push(...proxy.take());
		await new Promise(resolve => setImmediate(resolve));
	}

	return [...seen, ...proxy.take()];
}

/** Nothing is held any more: a take gets no connection. */
function nothingHeld(t: ExecutionContext, connections: RunConnections): void {
	t.truthy(connections.hold(), 'the plan opened a hold');
	t.is(connections.hold()!.take('web1'), undefined, 'nothing left in the hold');
}

test('the describe and the run share one connection, and the run ends as it does without', async t => {
	const {ports, proxy} = await fleet(t);
	const connections = createRunConnections();
	const plan = await resolvePlan({...ports, connections}, request('hello'));
	const held = collectResults();
	await (await executePlan({...ports, connections}, plan, {emit: held.emit})).outcome;
	t.deepEqual(await closed(proxy, 1), [4], 'one connection: TCP, TLS, describe, run');
	nothingHeld(t, connections);

	const apart = collectResults();
	await (await executePlan(ports, await resolvePlan(ports, request('hello')), {emit: apart.emit})).outcome;
	t.deepEqual(await closed(proxy, 2), [3, 3], 'without: two connections of three round trips');
	const shape = ({agent, status, exitCode, stdout, stderr, truncated}: AgentResult) => ({agent, status, exitCode, stdout, stderr, truncated});
	t.deepEqual(held.results().map(shape), apart.results().map(shape));
	t.like(held.results()[0], {agent: 'web1', status: 'ok', exitCode: 0});
	t.truthy((await ports.registry.read()).agents[0]!.lastSeen, 'the run marked the host seen');
});

test('a request refused while resolving leaves no connection held', async t => {
	const {ports, proxy, audit, log} = await fleet(t);
	const connections = createRunConnections();
	const refused = await t.throwsAsync(resolvePlan({...ports, connections}, request('guarded')));
	t.like(refused, {code: 'TOO_MANY_TARGETS'});
	nothingHeld(t, connections);
	t.deepEqual(await closed(proxy, 1), [3], 'the described connection was closed, not run on');
	await audit.close();
	t.like(readAuditRecords(log).find(record => record.event === 'run.refused'), {script: 'guarded', code: 'TOO_MANY_TARGETS'});
});

test('a request that cannot be recorded runs nothing and leaves no connection held', async t => {
	const {ports, proxy, audit, log} = await fleet(t);
	const connections = createRunConnections();
	const plan = await resolvePlan({...ports, connections}, request('hello'));
	const failing: AuditLog = {...audit, append: async () => Promise.reject(new Error('disk full'))};
	await t.throwsAsync(executePlan({...ports, audit: () => failing, connections}, plan), {message: 'disk full'});
	nothingHeld(t, connections);
	t.deepEqual(await closed(proxy, 1), [3], 'described, then closed: no run');
	await audit.close();
	t.false(readAuditRecords(log).some(record => record.event === 'run.outcome'));
});

test('a host unpaired between its plan and the run is not run on over the kept connection', async t => {
	const {ports, proxy} = await fleet(t);
	const connections = createRunConnections();
	const plan = await resolvePlan({...ports, connections}, request('hello'));
	await ports.registry.update(registry => unpairAgent(registry, 'web1', new Date().toISOString()));
	const outcome = await (await executePlan({...ports, connections}, plan)).outcome;
	t.like(outcome.summary.notOk[0], {agent: 'web1', status: 'unreachable'});
	t.regex(outcome.summary.notOk[0]!.reason ?? '', /revoked/);
	nothingHeld(t, connections);
	t.deepEqual((await closed(proxy, 2)).sort(), [2, 3], 'the kept connection closed unused; the new one refused at its handshake');
});
