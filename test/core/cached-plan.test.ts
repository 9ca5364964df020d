/**
 * Resolving a plan from the description cache (core/cached-plan.ts through core/run-plan.ts), over
 * real agents: every host with a cached entry is planned from it and the plan is the live one; a
 * limit read from a cached entry never refuses or asks what a live plan would not (it is decided
 * again on a live describe), while a limit the hosts really declare refuses exactly as live; a
 * revoked serial is never planned from the cache; and checking an approved plan again
 * (approvals/resolve-again.ts) asks the hosts, never the cache.
 */
import {readFileSync, writeFileSync} from 'node:fs';
import test, {type ExecutionContext} from 'ava';
import {agentPaths} from '../../agent/home.js';
import {allowScript} from '../../agent/commands.js';
import {resolvePlanHashWith} from '../../source/approvals/resolve-again.js';
import {openControllerAudit} from '../../source/audit/controller-log.js';
import {readAuditRecords} from '../../source/audit/read-log.js';
import {cachedEntries} from '../../source/core/cached-plan.js';
import {descriptionFilePath, openDescriptionFile} from '../../source/core/description-file.js';
import {resolvePlan, type PlanPorts, type RunRequest} from '../../source/core/run-plan.js';
import {createClientContext} from '../../source/dispatch/agent-connection.js';
import {controllerPaths, loadControllerCredentials, openControllerRegistry} from '../../source/home.js';
import {revokedSerials} from '../../source/registry/model.js';
import {createController, enrolAgent, freePort, installFixture, startAgent} from '../helpers/fleet.js';

type World = {home: string; ports: PlanPorts; log: string};

async function world(t: ExecutionContext, limits: {maxTargets?: number} = {}): Promise<World> {
	const home = await createController();
	const hello = installFixture('hello.sh');
	for (const name of ['web1', 'web2']) {
		const agent = await enrolAgent(home, {name, port: freePort(), scripts: {hello}});
		if (limits.maxTargets !== undefined) {
			allowScript(agentPaths(agent.home), 'hello', hello, {description: 'test script hello', timeout: 60, maxTargets: limits.maxTargets});
		}

		const running = await startAgent(agent);
		t.teardown(async () => running.stop());
	}

	const paths = controllerPaths(home);
	const audit = openControllerAudit(paths);
	t.teardown(async () => audit.close());
	return {home, log: paths.auditLog, ports: {paths, registry: openControllerRegistry(paths), audit: () => audit, context: createClientContext(loadControllerCredentials(paths)), descriptions: openDescriptionFile(home)}};
}

const request = (more: Partial<RunRequest> = {}): RunRequest => ({script: 'hello', args: [], on: ['web1', 'web2'], parallel: 4, timeoutSeconds: 30, dryRun: false, caller: 'test@here', ...more});

type Cache = {agents: Record<string, {scripts: Array<Record<string, unknown>>}>};
function alterCache(home: string, change: (entry: Record<string, unknown>) => Record<string, unknown>): void {
	const cache = JSON.parse(readFileSync(descriptionFilePath(home), 'utf8')) as Cache;
	for (const agent of Object.values(cache.agents)) {
		agent.scripts = agent.scripts.map(entry => change(entry));
	}

	writeFileSync(descriptionFilePath(home), JSON.stringify(cache));
}

test('the second plan comes from the cache for every host, and is the live plan', async t => {
	const w = await world(t);
	const live = await resolvePlan(w.ports, request());
	t.is(live.cached, undefined);
	const cached = await resolvePlan(w.ports, request({requestId: live.requestId}));
	t.deepEqual(cached.cached, {hosts: ['web1', 'web2'], confirmed: false});
	t.is(cached.hash, live.hash);
	t.deepEqual(cached.entries, live.entries);
});

const staleLimits: Array<[string, (entry: Record<string, unknown>) => Record<string, unknown>]> = [
	['a cached maxTargets the hosts no longer declare', entry => ({...entry, maxTargets: 1})],
	['a cached confirm the hosts no longer ask for', entry => ({...entry, confirm: true})],
];

for (const [title, change] of staleLimits) {
	test(`${title} does not refuse: decided again on what the hosts say now, and the cache corrected`, async t => {
		const w = await world(t);
		const live = await resolvePlan(w.ports, request());
		alterCache(w.home, change);
		const plan = await resolvePlan(w.ports, request({requestId: live.requestId}));
		t.is(plan.cached, undefined, 'every host described live');
		t.is(plan.hash, live.hash);
		t.false(readAuditRecords(w.log).some(record => record.event === 'run.refused'));
		t.deepEqual((await resolvePlan(w.ports, request())).cached?.hosts, ['web1', 'web2'], 'the cache holds the entries as they are');
	});
}

test('a maxTargets the hosts really declare refuses a cached plan exactly as a live one, one run.refused', async t => {
	const w = await world(t, {maxTargets: 1});
	const first = await t.throwsAsync(resolvePlan(w.ports, request()));
	const second = await t.throwsAsync(resolvePlan(w.ports, request()));
	t.is(first?.message, 'Refused before running anything: hello allows at most 1 target at once (maxTargets in its allowlist entry on agents web[1-2]) and this run has 2: narrow --on, or roll out with --batch 1 or less.');
	t.is(second?.message, first?.message);
	t.is(readAuditRecords(w.log).filter(record => record.event === 'run.refused').length, 2, 'one record per refused request');
});

test('a revoked serial is never planned from the cache', async t => {
	const w = await world(t);
	await resolvePlan(w.ports, request());
	await w.ports.registry.update(registry => {
		const web2 = registry.agents.find(agent => agent.name === 'web2')!;
		// A registry restored from a backup that still holds a record whose serial was revoked since.
		return {...registry, revoked: [...(registry.revoked ?? []), {serial: web2.serial, agent: 'web2', reason: 'unpaired', at: new Date().toISOString()}]};
	});
	const registry = await w.ports.registry.read();
	t.deepEqual([...cachedEntries(w.ports.descriptions, 'hello', [], registry.agents, revokedSerials(registry)).keys()], ['web1']);
	const plan = await resolvePlan(w.ports, request());
	t.deepEqual(plan.cached?.hosts, ['web1'], 'web2 described live, where its revoked certificate is refused');
	t.is(plan.entries?.['web2'], null);
});

test('an approved plan is checked again against what the hosts say now, not against the cache', async t => {
	const w = await world(t);
	const live = await resolvePlan(w.ports, request({on: ['web1']}));
	alterCache(w.home, entry => ({...entry, description: 'not what web1 says'}));
	const hash = await resolvePlanHashWith(w.ports)({planHash: live.hash, plan: live} as never);
	t.is(hash, live.hash);
});
