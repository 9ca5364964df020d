/**
 * A run on many hosts planned from the agents' cached descriptions (core/cached-plan.ts,
 * core/plan-refresh.ts), over the built CLI, real agent processes and real certificates, each agent
 * behind its own counting TCP proxy: a connection of 4 round trips carried a describe and the run
 * (TCP, TLS, describe, run), one of 3 the run alone. Every host with a cached entry is planned
 * from it (no describe), the others are described live and remembered; a host whose allowlist
 * entry changed since (its schema, its script's content, denied then allowed again) refuses the
 * planned run before anything runs, and is described, planned again and run once, under the same
 * request id, with a note; the rest of the run is as a live-described run shows it.
 */
import {readFileSync, writeFileSync} from 'node:fs';
import type {AddressInfo} from 'node:net';
import test from 'ava';
import {agentPaths} from '../../agent/home.js';
import {allowScript, denyScript} from '../../agent/commands.js';
import {createDelayProxy, listenProxy, type DelayProxy} from '../../bench/delay-proxy.js';
import {readAuditRecords} from '../../source/audit/read-log.js';
import type {AuditRecord} from '../../source/audit/record.js';
import {descriptionFilePath} from '../../source/core/description-file.js';
import {controllerPaths, openControllerRegistry} from '../../source/home.js';
import {controllerCli, createController, enrolAgent, freePort, installFixture, installScript, logEvents, runCli, startAgent, waitFor, type RunningAgent, type TestAgent} from '../helpers/fleet.js';
import {closedConnections} from '../helpers/proxy-round-trips.js';

const names = ['web1', 'web2', 'web3'];
type Host = {agent: TestAgent; running: RunningAgent; proxy: DelayProxy; script: string};
type Fleet = {home: string; hosts: Record<string, Host>; env: NodeJS.ProcessEnv};

async function fleetOf(t: {teardown: (fn: () => Promise<void>) => void}): Promise<Fleet> {
	const home = await createController();
	const hosts: Record<string, Host> = {};
	for (const name of names) {
		const script = installFixture('hello.sh');
		const agent = await enrolAgent(home, {name, port: freePort(), scripts: {hello: script}});
		const running = await startAgent(agent);
		const proxy = createDelayProxy({listen: 0, target: agent.port}, 0);
		await listenProxy(proxy, 0);
		t.teardown(async () => {
			await proxy.close();
			await running.stop();
		});
		hosts[name] = {agent, running, proxy, script};
	}

	const addressOf = (name: string) => `127.0.0.1:${(hosts[name]!.proxy.server.address() as AddressInfo).port}`;
	await openControllerRegistry(controllerPaths(home)).update(registry => ({...registry, agents: registry.agents.map(record => ({...record, address: addressOf(record.name)}))}));
	return {home, hosts, env: {XI_EXEC_HOME: home}};
}

const everyHost = (script: string, ...more: string[]) => ['run', script, ...names.flatMap(name => ['--on', name]), ...more];

/** Each host's round trips of the connections closed since the last call (one per host expected). */
async function roundTrips(fleet: Fleet, expected: Record<string, number>): Promise<Record<string, number[]>> {
	const seen: Record<string, number[]> = {};
	for (const name of names) {
		seen[name] = (await closedConnections(fleet.hosts[name]!.proxy, expected[name] ?? 1)).sort();
	}

	return seen;
}

const take = (fleet: Fleet) => {
	for (const name of names) {
		fleet.hosts[name]!.proxy.take();
	}
};

async function reloaded(host: Host, change: () => void): Promise<void> {
	const reloads = logEvents(host.running, 'allowlist.reloaded').length;
	change();
	host.running.process.kill('SIGHUP');
	await waitFor(() => (logEvents(host.running, 'allowlist.reloaded').length > reloads ? true : undefined), `${host.agent.name} to reload`);
}

type Cache = {agents: Record<string, {scripts: Array<Record<string, unknown>>}>};
const readCache = (home: string) => JSON.parse(readFileSync(descriptionFilePath(home), 'utf8')) as Cache;
const controllerRecords = (home: string, from: number): AuditRecord[] => readAuditRecords(controllerPaths(home).auditLog).slice(from).filter(record => ['run.request', 'run.replanned', 'run.outcome', 'run.refused'].includes(record.event));
const auditLength = (home: string) => readAuditRecords(controllerPaths(home).auditLog).length;
const lines = (stdout: string) => stdout.split('\n').filter(line => /^web\d = /.test(line)).map(line => line.replace(/\(\d+ ms\)/, '')).sort();
const starts = (host: Host) => logEvents(host.running, 'run.start').length;

test('every host with a cached entry is planned from it: no describe on the second run, the same plan and the same output', async t => {
	const fleet = await fleetOf(t);
	take(fleet);
	const first = await runCli(controllerCli, everyHost('hello'), fleet.env);
	t.is(first.code, 0, first.stderr);
	t.deepEqual(await roundTrips(fleet, {}), {web1: [4], web2: [4], web3: [4]}, 'described, then run, on one connection each');
	t.deepEqual(Object.keys(readCache(fleet.home).agents).sort(), names);

	const from = auditLength(fleet.home);
	const second = await runCli(controllerCli, everyHost('hello'), fleet.env);
	t.is(second.code, 0, second.stderr);
	t.deepEqual(await roundTrips(fleet, {}), {web1: [3], web2: [3], web3: [3]}, 'no describe: TCP, TLS, run');
	t.deepEqual(lines(second.stdout), lines(first.stdout));
	t.notRegex(second.stderr, /refreshed/);
	const records = controllerRecords(fleet.home, 0);
	t.is(records.filter(record => record.event === 'run.request').length, 2);
	t.is(records.filter(record => record.event === 'run.request')[1]!['planHash'], records[0]!['planHash'], 'the same plan as the live-described one');
	t.deepEqual(controllerRecords(fleet.home, from).map(record => `${record.event} ${String(record['agent'] ?? '')} ${String(record['status'] ?? '')}`).sort(), ['run.outcome web1 ok', 'run.outcome web2 ok', 'run.outcome web3 ok', 'run.request  ']);
});

test('mixed: hosts without a cached entry are described live and remembered, the others are not asked', async t => {
	const fleet = await fleetOf(t);
	t.is((await runCli(controllerCli, ['run', 'hello', '--on', 'web1', '--on', 'web1'], fleet.env)).code, 0);
	take(fleet);
	const run = await runCli(controllerCli, everyHost('hello'), fleet.env);
	t.is(run.code, 0, run.stderr);
	t.deepEqual(await roundTrips(fleet, {}), {web1: [3], web2: [4], web3: [4]});
	t.deepEqual(Object.keys(readCache(fleet.home).agents).sort(), names, 'the live answers remembered');
	const again = await runCli(controllerCli, everyHost('hello'), fleet.env);
	t.is(again.code, 0, again.stderr);
	t.deepEqual(await roundTrips(fleet, {}), {web1: [3], web2: [3], web3: [3]});
});

test('a run with arguments is described live whatever is cached (secret arguments are known from a live schema first)', async t => {
	const fleet = await fleetOf(t);
	t.is((await runCli(controllerCli, everyHost('hello'), fleet.env)).code, 0);
	take(fleet);
	const run = await runCli(controllerCli, [...everyHost('hello'), '--', 'x'], fleet.env);
	t.is(run.code, 0, run.stderr);
	t.deepEqual(await roundTrips(fleet, {}), {web1: [4], web2: [4], web3: [4]});
});

/**
 * Security-relevant rows: web2's entry changes between two runs. Whatever changed, nothing runs on
 * web2 under the plan made from its old entry: the agent refuses the planned digest (its exact
 * refusal and the `run.refused` record it writes, under the run's request id), the run describes
 * web2, records `run.replanned` and runs it with its entry as it is now, once; web1 and web3 run
 * from the cache.
 */
const changes: Array<{title: string; change: (host: Host) => void; expect: RegExp; args?: string[]}> = [
	{
		title: 'its arguments schema changed',
		change: host => allowScript(agentPaths(host.agent.home), 'hello', host.script, {description: 'test script hello', timeout: 60, schema: '{"type":"array","maxItems":0}'}),
		expect: /^web2 = ok/m,
	},
	{
		title: 'its script\'s content changed (and the allowlist was reloaded)',
		change(host) {
			writeFileSync(host.script, '#!/bin/sh\necho "changed content on $XI_EXEC_SCRIPT"\n');
		},
		expect: /changed content on hello/,
	},
	{
		title: 'it was denied and allowed again with another script',
		change(host) {
			denyScript(agentPaths(host.agent.home), 'hello');
			host.script = installScript('hello2.sh', '#!/bin/sh\necho "allowed again"\n');
			allowScript(agentPaths(host.agent.home), 'hello', host.script, {description: 'allowed again', timeout: 60});
		},
		expect: /allowed again/,
	},
];

for (const c of changes) {
	test(`stale plan never executes: web2's entry changed (${c.title}): refused, planned again once, run once, one request id`, async t => {
		const fleet = await fleetOf(t);
		t.is((await runCli(controllerCli, everyHost('hello'), fleet.env)).code, 0);
		const web2 = fleet.hosts['web2']!;
		await reloaded(web2, () => c.change(web2));
		const before = names.map(name => starts(fleet.hosts[name]!));
		const from = auditLength(fleet.home);
		take(fleet);
		const run = await runCli(controllerCli, everyHost('hello'), fleet.env);
		t.is(run.code, 0, run.stdout + run.stderr);
		t.regex(run.stdout, c.expect);
		t.is(lines(run.stdout).length, 3);
		t.regex(run.stderr, /^xi-exec: note: the plan was refreshed for web2: its allowlist entry changed since cached, so it was described and planned again before running\.$/m);
		t.deepEqual(await roundTrips(fleet, {web2: 2}), {web1: [3], web2: [3, 4], web3: [3]}, 'web2: the refused run, then describe and run on one connection');
		t.deepEqual(names.map(name => starts(fleet.hosts[name]!) - before[names.indexOf(name)]!), [1, 1, 1], 'each host ran the script once');

		const records = controllerRecords(fleet.home, from);
		const requestId = records[0]!['requestId'];
		t.true(records.every(record => record['requestId'] === requestId));
		t.deepEqual(records.map(record => `${record.event} ${String(record['agent'] ?? '')}`).filter(text => !text.startsWith('run.outcome web1') && !text.startsWith('run.outcome web3')), ['run.request ', 'run.replanned web2', 'run.outcome web2']);
		const replanned = records.find(record => record.event === 'run.replanned')!;
		t.not(replanned['planned'], replanned['described']);
		t.is(replanned['refused'], undefined);
		t.is(readCache(fleet.home).agents['web2']!.scripts[0]!['description'], c.title.startsWith('it was denied') ? 'allowed again' : 'test script hello');

		const agentRecords = readAuditRecords(agentPaths(web2.agent.home).auditLog).filter(record => record['requestId'] === requestId);
		const refusal = agentRecords.find(record => record.event === 'run.refused')!;
		t.is(refusal['status'], 'denied');
		t.regex(String(refusal['reason']), /^script hello is refused: the controller planned this run with another allowlist entry for hello on web2 \(planned [\da-f]{12}…, now [\da-f]{12}…\): its description of this agent is out of date; nothing ran$/);
		t.is(/\(planned ([\da-f]{12})…/.exec(String(refusal['reason']))?.[1], String(replanned['planned']).slice(0, 12), 'the agent refused the digest the controller recorded');
		t.is(agentRecords.filter(record => record.event === 'run.start').length, 1, 'web2 ran the same request id once, after refusing it');

		take(fleet);
		t.is((await runCli(controllerCli, everyHost('hello'), fleet.env)).code, 0);
		t.deepEqual(await roundTrips(fleet, {}), {web1: [3], web2: [3], web3: [3]}, 'planned from the cache again, now as it is');
	});
}

test('stale plan never executes: web2 denied since it was cached is refused by its agent as on a live plan, nothing planned again', async t => {
	const fleet = await fleetOf(t);
	t.is((await runCli(controllerCli, everyHost('hello'), fleet.env)).code, 0);
	const web2 = fleet.hosts['web2']!;
	await reloaded(web2, () => denyScript(agentPaths(web2.agent.home), 'hello'));
	const before = starts(web2);
	const from = auditLength(fleet.home);
	const run = await runCli(controllerCli, everyHost('hello'), fleet.env);
	t.is(run.code, 1, run.stdout + run.stderr);
	t.regex(run.stdout, /^web2 = denied: script hello is not on web2's allowlist$/m);
	t.notRegex(run.stderr, /refreshed/);
	t.is(starts(web2), before);
	const records = controllerRecords(fleet.home, from);
	t.deepEqual(records.filter(record => record['agent'] === 'web2').map(record => `${record.event} ${String(record['status'])} ${String(record['reason'])}`), ['run.outcome denied script hello is not on web2\'s allowlist']);
});
