/**
 * A one-shot `xi-exec run SCRIPT --on ONE` planned from the agent's cached description: the first
 * asks the agent (describe, then the run on the same connection) and remembers its answer in the
 * home's `described.json`; the next sends the run at once with the digest of the cached entry (one
 * round trip less, counted by a TCP proxy in front of the agent). An entry changed on the agent
 * since (reloaded), or a cache altered by hand, is refused by the agent before anything runs, and
 * the run describes that host and plans it again, once, under the same request id: the operator
 * sees one run and a note; the audit logs on both sides keep the refusal, the re-plan and the run.
 * An altered cache cannot skip a `confirm` script's confirmation. Over the built CLI, a real agent
 * process and real certificates.
 */
import {readFileSync, writeFileSync} from 'node:fs';
import type {AddressInfo} from 'node:net';
import test from 'ava';
import {agentPaths} from '../../agent/home.js';
import {allowScript} from '../../agent/commands.js';
import {createDelayProxy, listenProxy, type DelayProxy} from '../../bench/delay-proxy.js';
import {readAuditRecords} from '../../source/audit/read-log.js';
import type {AuditRecord} from '../../source/audit/record.js';
import {controllerPaths, openControllerRegistry} from '../../source/home.js';
import {descriptionFilePath} from '../../source/core/description-file.js';
import {controllerCli, createController, enrolAgent, freePort, installFixture, logEvents, runCli, startAgent, waitFor, type RunningAgent, type TestAgent} from '../helpers/fleet.js';
import {closedConnections} from '../helpers/proxy-round-trips.js';

type Fleet = {home: string; agent: TestAgent; running: RunningAgent; proxy: DelayProxy; env: NodeJS.ProcessEnv};

/**
 * The one-shot as these tests run it: `--on web1` twice keeps it a one-shot on web1
 * while the CLI does not dial before it has loaded (cli/early-target.ts), so the request goes out
 * in the same flight as the TLS handshake's last message and the round trips count exactly
 * (dialled early, the agent's session tickets answer that last message on their own).
 */
const oneShot = (script: string, ...more: string[]) => ['run', script, '--on', 'web1', '--on', 'web1', ...more];

/** One agent behind a counting proxy (no delay), the registry pointing at the proxy. */
async function oneAgent(t: {teardown: (fn: () => Promise<void>) => void}, scripts: Record<string, string>): Promise<Fleet> {
	const home = await createController();
	const agent = await enrolAgent(home, {name: 'web1', port: freePort(), scripts});
	const running = await startAgent(agent);
	const proxy = createDelayProxy({listen: 0, target: agent.port}, 0);
	await listenProxy(proxy, 0);
	t.teardown(async () => {
		await proxy.close();
		await running.stop();
	});
	const address = `127.0.0.1:${(proxy.server.address() as AddressInfo).port}`;
	await openControllerRegistry(controllerPaths(home)).update(registry => ({...registry, agents: registry.agents.map(record => ({...record, address}))}));
	return {home, agent, running, proxy, env: {XI_EXEC_HOME: home}};
}

type Cache = {agents: Record<string, {scripts: Array<Record<string, unknown>>}>};
const readCache = (home: string) => JSON.parse(readFileSync(descriptionFilePath(home), 'utf8')) as Cache;

function alterCache(home: string, change: (entry: Record<string, unknown>) => Record<string, unknown>): void {
	const cache = readCache(home);
	const agent = cache.agents['web1']!;
	agent.scripts = agent.scripts.map(entry => change(entry));
	writeFileSync(descriptionFilePath(home), JSON.stringify(cache));
}

const runEvents = (home: string): AuditRecord[] => readAuditRecords(controllerPaths(home).auditLog).filter(record => record.event === 'run.request' || record.event === 'run.outcome' || record.event === 'run.refused');
const resultLines = (stdout: string) => stdout.split('\n').filter(line => line.startsWith('web1 = '));

test('the first one-shot asks and remembers; the next is planned from the cache with one round trip less, and runs the same', async t => {
	const fleet = await oneAgent(t, {hello: installFixture('hello.sh')});
	fleet.proxy.take();
	const first = await runCli(controllerCli, oneShot('hello'), fleet.env);
	t.is(first.code, 0, first.stderr);
	t.deepEqual(await closedConnections(fleet.proxy, 1), [4], 'TCP, TLS, describe, run');
	t.like(readCache(fleet.home).agents['web1']!.scripts[0], {name: 'hello', description: 'test script hello'});

	const second = await runCli(controllerCli, oneShot('hello'), fleet.env);
	t.is(second.code, 0, second.stderr);
	t.deepEqual(await closedConnections(fleet.proxy, 1), [3], 'TCP, TLS, run');
	t.deepEqual(resultLines(second.stdout).map(line => line.replace(/\(\d+ ms\)/, '')), resultLines(first.stdout).map(line => line.replace(/\(\d+ ms\)/, '')));
	t.true(second.stdout.includes('hello'), second.stdout);
	const records = runEvents(fleet.home);
	t.deepEqual(records.map(record => `${record.event} ${String(record['status'] ?? '')}`), ['run.request ', 'run.outcome ok', 'run.request ', 'run.outcome ok']);
	t.not(records[0]!['planHash'], undefined);
	t.is(records[2]!['planHash'], records[0]!['planHash'], 'the same plan: the cached entry is the one described');

	const json = await runCli(controllerCli, oneShot('hello', '--json'), fleet.env);
	t.is(json.code, 0, json.stderr);
	t.deepEqual(await closedConnections(fleet.proxy, 1), [3]);
});

const staleCases: Array<{title: string; described: string; stale: (fleet: Fleet) => Promise<void>}> = [
	{
		title: 'a cache altered by hand',
		described: 'test script hello',
		async stale(fleet) {
			alterCache(fleet.home, entry => ({...entry, description: 'not what the agent says'}));
		},
	},
	{
		title: 'the entry changed on the agent and reloaded since',
		described: 'test script hello, changed',
		async stale(fleet) {
			allowScript(agentPaths(fleet.agent.home), 'hello', installFixture('hello.sh'), {description: 'test script hello, changed', timeout: 20});
			const reloads = logEvents(fleet.running, 'allowlist.reloaded').length;
			fleet.running.process.kill('SIGHUP');
			await waitFor(() => (logEvents(fleet.running, 'allowlist.reloaded').length > reloads ? true : undefined), 'the agent to reload');
		},
	},
];

const runAndReplanEvents = (home: string): AuditRecord[] => readAuditRecords(controllerPaths(home).auditLog).filter(record => ['run.request', 'run.replanned', 'run.outcome', 'run.refused'].includes(record.event));

for (const c of staleCases) {
	test(`${c.title}: the agent refuses the planned run before anything runs, and the run plans that host again and runs it once, same request id`, async t => {
		const fleet = await oneAgent(t, {hello: installFixture('hello.sh')});
		t.is((await runCli(controllerCli, oneShot('hello'), fleet.env)).code, 0);
		await c.stale(fleet);
		const started = logEvents(fleet.running, 'run.start').length;
		fleet.proxy.take();
		const run = await runCli(controllerCli, oneShot('hello'), fleet.env);
		t.is(run.code, 0, run.stderr);
		t.is(resultLines(run.stdout).length, 1, run.stdout);
		t.is(run.stdout.match(/request /g)?.length, 1, 'one run shown');
		t.regex(run.stderr, /^xi-exec: note: the plan was refreshed for web1: its allowlist entry changed since cached, so it was described and planned again before running\.$/m);
		t.deepEqual((await closedConnections(fleet.proxy, 2)).sort(), [3, 4], 'the planned run refused, then describe and run on one connection');
		t.is(logEvents(fleet.running, 'run.start').length, started + 1, 'the script ran once');

		const records = runAndReplanEvents(fleet.home).slice(2);
		t.deepEqual(records.map(record => `${record.event} ${String(record['status'] ?? '')}`), ['run.request ', 'run.replanned ', 'run.outcome ok']);
		const requestId = records[0]!['requestId'];
		t.true(records.every(record => record['requestId'] === requestId), 'one request id');
		t.like(records[1], {agent: 'web1', script: 'hello'});
		t.regex(String(records[1]!['planned']), /^[\da-f]{64}$/);
		t.regex(String(records[1]!['described']), /^[\da-f]{64}$/);
		t.not(records[1]!['planned'], records[1]!['described']);
		t.not(records[1]!['planHash'], records[0]!['planHash'], 'the plan as run, with the entry as it is now');
		const agentRecords = readAuditRecords(agentPaths(fleet.agent.home).auditLog).filter(record => record['requestId'] === requestId);
		const refusal = agentRecords.find(record => record.event === 'run.refused');
		t.is(refusal?.['status'], 'denied');
		t.regex(String(refusal?.['reason']), /^script hello is refused: the controller planned this run with another allowlist entry for hello on web1 \(planned [\da-f]{12}…, now [\da-f]{12}…\): its description of this agent is out of date; nothing ran$/);
		t.true(agentRecords.some(record => record.event === 'run.start'), 'the agent ran the same request id after refusing it');
		t.is(readCache(fleet.home).agents['web1']!.scripts[0]!['description'], c.described, 'the cache holds the entry as the agent described it again');

		fleet.proxy.take();
		t.is((await runCli(controllerCli, oneShot('hello'), fleet.env)).code, 0);
		t.deepEqual(await closedConnections(fleet.proxy, 1), [3], 'the cache holds the entry as it is now');
	});
}

test('a cache altered to drop a script\'s confirm does not skip the confirmation: the host is refused, nothing runs', async t => {
	const home = await createController();
	const agent = await enrolAgent(home, {name: 'web1', port: freePort()});
	allowScript(agentPaths(agent.home), 'drain', installFixture('hello.sh'), {description: 'drain the host', confirm: true});
	const running = await startAgent(agent);
	t.teardown(async () => running.stop());
	const env = {XI_EXEC_HOME: home};
	t.is((await runCli(controllerCli, oneShot('drain', '--yes'), env)).code, 0);
	alterCache(home, ({confirm: _confirm, ...entry}) => entry);
	const run = await runCli(controllerCli, oneShot('drain'), env);
	t.is(run.code, 1, run.stdout + run.stderr);
	t.regex(run.stdout, /web1 .*denied/);
	t.regex(run.stdout, /refused before running anything on web1: its allowlist entry changed since it was cached, and as it is now drain asks for confirmation \(confirm: true in its allowlist entry on agent web1\): pass --yes/);
	t.is(logEvents(running, 'run.start').length, 1, 'only the confirmed run ran');
	const records = runAndReplanEvents(home).slice(2);
	t.deepEqual(records.map(record => `${record.event} ${String(record['status'] ?? '')}`), ['run.request ', 'run.replanned ', 'run.outcome denied']);
	t.regex(String(records[1]!['refused']), /asks for confirmation/);
});
