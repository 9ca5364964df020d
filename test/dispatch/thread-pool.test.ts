/**
 * A run's hosts spread over dispatch threads (source/dispatch/thread-pool.ts), against real agents
 * over TLS on 127.0.0.1: the same run with one thread and with two gives the same results, audit
 * and history (through the real CLI, the setting `dispatchThreads` in the controller's config),
 * with its describe on the threads too and as many connections (the describe's kept connections
 * carry the first wave's runs on the thread that made them);
 * a cancel reaches every host in every thread and leaves no script running; a thread that stops
 * ends each host it held as one clear error, and every other host as usual.
 */
import {existsSync, readdirSync, readFileSync, writeFileSync} from 'node:fs';
import type {AddressInfo} from 'node:net';
import {join} from 'node:path';
import {setTimeout as delay} from 'node:timers/promises';
import test from 'ava';
import {createDelayProxy, listenProxy} from '../../bench/delay-proxy.js';
import {createClientContext, type AgentTarget} from '../../source/dispatch/agent-connection.js';
import {discoverAgents} from '../../source/dispatch/discover.js';
import {dispatch} from '../../source/dispatch/dispatcher.js';
import {openDispatchThreads} from '../../source/dispatch/thread-pool.js';
import {controllerPaths, openControllerRegistry} from '../../source/home.js';
import type {AgentResult, RunEvent} from '../../source/run/events.js';
import {controllerCli, controllerCredentials, createController, enrolAgent, freePort, installScript, spawnCli, startAgent, waitFor, type RunningAgent} from '../helpers/fleet.js';
import {sameAsOneThread, threadedCliRun} from './thread-cli-run.js';

const names = ['t1', 't2', 't3', 't4', 't5', 't6'];
const stops: Array<() => Promise<void>> = [];

test.after.always(async () => {
	await Promise.all(stops.map(async stop => stop()));
});

/** `proxied`: the same agents behind a counting proxy each (the registry names these), `connections` how many those have accepted so far. */
type Fleet = {home: string; targets: AgentTarget[]; proxied: AgentTarget[]; running: RunningAgent[]; connections: () => number};

let shared: Promise<Fleet> | undefined;
async function fleet(): Promise<Fleet> {
	shared ??= (async () => {
		const home = await createController();
		const scripts = {
			quick: installScript('quick.sh', '#!/bin/sh\necho "from $XI_EXEC_SCRIPT"\necho "to stderr" >&2\nsleep 1\necho done\n'),
			long: installScript('long.sh', '#!/bin/sh\necho "started $$"\nexec sleep 300\n'),
		};
		const agents = [];
		for (const name of names) {
			agents.push(await enrolAgent(home, {name, port: freePort(), scripts}));
		}

		const running = await Promise.all(agents.map(async agent => startAgent(agent)));
		stops.push(...running.map(agent => agent.stop));
		let connections = 0;
		const proxies = new Map<string, string>();
		for (const agent of agents) {
			const proxy = createDelayProxy({listen: 0, target: agent.port}, 0);
			await listenProxy(proxy, 0);
			proxy.server.on('connection', () => connections++);
			stops.push(async () => proxy.close());
			proxies.set(agent.name, `127.0.0.1:${(proxy.server.address() as AddressInfo).port}`);
		}

		await openControllerRegistry(controllerPaths(home)).update(current => ({...current, agents: current.agents.map(entry => ({...entry, address: proxies.get(entry.name) ?? entry.address}))}));
		return {home, targets: agents.map(agent => ({name: agent.name, address: `127.0.0.1:${agent.port}`})), proxied: agents.map(agent => ({name: agent.name, address: proxies.get(agent.name)!})), running, connections: () => connections};
	})();
	return shared;
}

/** The dispatch thread from the source (these tests run under tsx); the CLI's is the built one. */
const sourceThread = new URL('../fixtures/dispatch-thread.mjs', import.meta.url);

const requestOf = (script: string, id: string) => ({requestId: id, script, args: [], caller: 'test', timeoutMs: 60_000, dryRun: false});

test.serial('the same run with one thread and with two: the same results, audit records, history and connections; describes and runs on both threads', async t => {
	const {home, connections} = await fleet();
	const program = {command: process.execPath, prefix: [controllerCli]};
	const before = connections();
	const one = await threadedCliRun(home, 1, program);
	const between = connections();
	const two = await threadedCliRun(home, 2, program);
	t.true(two.mostThreads >= one.mostThreads + 2, `two dispatch threads ran (${one.mostThreads} threads at most with one, ${two.mostThreads} with two)`);
	sameAsOneThread(t, one, two, names);
	// A describe each, and a run each but for the first wave's two, which go over their describe's connection.
	t.is(between - before, names.length * 2 - 2);
	t.is(connections() - between, between - before, 'as many connections with the threads');
});

test.serial('a host whose describe\'s connection a thread kept runs on that thread, over that connection', async t => {
	const {home, proxied, connections} = await fleet();
	const [first, second] = proxied as [AgentTarget, AgentTarget];
	const threads = openDispatchThreads(2, controllerCredentials(home), sourceThread);
	const context = createClientContext(controllerCredentials(home));
	const before = connections();
	// Both threads idle: the describe goes to the first, which keeps the connection.
	const [found] = await discoverAgents([first], context, {parallel: 1, timeoutMs: 10_000, threads: {pool: threads, holdUpTo: 1}});
	t.is(found?.status, 'reachable');
	// The other host is handed out first and goes to the first thread too (both idle): `first` must follow its connection there, not go to the idle second thread.
	const summary = await dispatch([second, first], requestOf('quick', '00000000-0000-4000-8000-0000000000c3'), {context, parallel: 2, runOnHost: threads.runOnHost, emit() {}}).finally(async () => threads.close());
	await context.close();
	t.deepEqual(summary.counts, {ok: 2});
	t.is(connections() - before, 2, 'the describe\'s connection, kept, and the other host\'s');
});

test.serial('a dispatchThreads setting that is not valid refuses the run before any agent is asked (CONFIG_INVALID)', async t => {
	const {home, connections} = await fleet();
	const count = (directory: string) => (existsSync(join(home, directory)) ? readdirSync(join(home, directory)).length : 0);
	const auditLines = () => (existsSync(join(home, 'audit', 'controller.jsonl')) ? readFileSync(join(home, 'audit', 'controller.jsonl'), 'utf8').split('\n').length : 0);
	const before = {connections: connections(), runs: count('runs'), audit: auditLines()};
	writeFileSync(join(home, 'config.json'), JSON.stringify({dispatchThreads: 0}));
	const done = await spawnCli(controllerCli, ['run', 'quick', '--on', 'all', '--json'], {XI_EXEC_HOME: home}).done;
	writeFileSync(join(home, 'config.json'), '{}');
	t.not(done.code, 0);
	t.is((JSON.parse(done.stdout) as {error: {code: string}}).error.code, 'CONFIG_INVALID', done.stdout);
	// The audit log cannot be opened with that configuration either (it reads its settings there), so nothing is recorded.
	t.deepEqual({connections: connections(), runs: count('runs'), audit: auditLines()}, before, 'no agent asked, no run, no record');
});

/** Whether process `pid` exists. */
function alive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
}

test.serial('a cancel reaches every host in every thread: each ends cancelled and no script is left running', async t => {
	const {home, targets} = await fleet();
	const threads = openDispatchThreads(2, controllerCredentials(home), sourceThread);
	const context = createClientContext(controllerCredentials(home));
	const cancel = new AbortController();
	const pids: number[] = [];
	const events: RunEvent[] = [];
	const summary = await dispatch(targets, requestOf('long', '00000000-0000-4000-8000-0000000000c1'), {
		context,
		parallel: 16,
		cancel: cancel.signal,
		runOnHost: threads.runOnHost,
		emit(event) {
			events.push(event);
			const started = event.type === 'agent-output' ? /^started (\d+)/.exec(event.data) : null;
			if (started) {
				pids.push(Number(started[1]));
				if (pids.length === targets.length) {
					cancel.abort();
				}
			}
		},
	}).finally(async () => threads.close());
	await context.close();
	t.is(pids.length, targets.length);
	t.deepEqual(summary.counts, {cancelled: targets.length});
	t.is(events.filter(event => event.type === 'agent-finished').length, targets.length);
	await waitFor(() => (pids.some(pid => alive(pid)) ? undefined : true), 'every script to end', {giveUpMs: 30_000});
	t.pass();
});

test.serial('a thread that stops ends each host it held as one clear error; the other thread\'s hosts end as usual; nothing is lost', async t => {
	const {home, targets} = await fleet();
	// The fixture is the real dispatch thread, which throws 300 ms after its first host when its thread id is even: one of the two.
	const threads = openDispatchThreads(2, controllerCredentials(home), new URL('../fixtures/crashing-dispatch-thread.mjs', import.meta.url));
	const context = createClientContext(controllerCredentials(home));
	const finished: AgentResult[] = [];
	const summary = await dispatch(targets, requestOf('quick', '00000000-0000-4000-8000-0000000000c2'), {
		context,
		parallel: 16,
		runOnHost: threads.runOnHost,
		emit(event) {
			if (event.type === 'agent-finished') {
				finished.push(event.result);
			}
		},
	}).finally(async () => threads.close());
	await context.close();
	t.deepEqual(finished.map(result => result.agent).sort(), [...names].sort(), 'exactly one result per host');
	const failed = finished.filter(result => result.status === 'error');
	const ok = finished.filter(result => result.status === 'ok');
	t.is(failed.length, names.length / 2, JSON.stringify(finished));
	t.is(ok.length, names.length / 2);
	for (const result of failed) {
		t.regex(result.reason ?? '', /^the controller's dispatch thread [12] stopped while it ran this host \(the test's dispatch thread stopped\): what the agent did is unknown: its audit log says whether the script ran; run it again where it did not; if dispatch threads fail again, set "dispatchThreads": 1 in the controller's config\.json to use the main thread alone$/);
		t.is(result.stdout, 'from quick\n', 'the output received before the stop is kept');
	}

	t.is(summary.counts.error, names.length / 2);
	await delay(0);
});

/** What every error of a stopped or failed dispatch thread ends with: the way around it. */
const nextStep = 'if dispatch threads fail again, set "dispatchThreads": 1 in the controller\'s config.json to use the main thread alone';

test.serial('a thread that stops during the describe: each describe it held is unreachable with what to do next; nothing ran', async t => {
	const {home, targets} = await fleet();
	const threads = openDispatchThreads(2, controllerCredentials(home), new URL('../fixtures/describe-crashing-dispatch-thread.mjs', import.meta.url));
	const context = createClientContext(controllerCredentials(home));
	const found = await discoverAgents(targets, context, {parallel: 16, timeoutMs: 10_000, threads: {pool: threads, holdUpTo: 0}}).finally(async () => threads.close());
	await context.close();
	t.deepEqual(found.map(each => each.name), names);
	for (const each of found) {
		t.is(each.status, 'unreachable');
		t.regex(each.reason ?? '', /^the controller's dispatch thread [12] stopped while it described this host \(the test's dispatch thread stopped\): nothing ran; try again; /);
		t.true(each.reason?.endsWith(nextStep), each.reason);
	}
});

test.serial('a thread whose program fails to load: the host it was handed ends as one error with what to do next, the rest run on the main thread', async t => {
	const {home, targets} = await fleet();
	// One thread: the first host is handed to it long before its program has failed (a thread takes tens of milliseconds to load); the later ones find none left.
	const threads = openDispatchThreads(1, controllerCredentials(home), new URL('../fixtures/broken-dispatch-thread.mjs', import.meta.url));
	const context = createClientContext(controllerCredentials(home));
	const finished: AgentResult[] = [];
	await dispatch(targets, requestOf('quick', '00000000-0000-4000-8000-0000000000c4'), {context, parallel: 1, runOnHost: threads.runOnHost, emit(event) {
		if (event.type === 'agent-finished') {
			finished.push(event.result);
		}
	}}).finally(async () => threads.close());
	await context.close();
	t.deepEqual(finished.map(result => result.agent), names, 'exactly one result per host');
	const [first, ...rest] = finished;
	t.is(first?.status, 'error');
	t.is(first?.reason, `the controller's dispatch thread 1 stopped while it ran this host (the test's dispatch thread failed to load): what the agent did is unknown: its audit log says whether the script ran; run it again where it did not; ${nextStep}`);
	t.deepEqual(rest.map(result => result.status), names.slice(1).map(() => 'ok'));
});

test.serial('a thread takes this process\'s node flags, or exactly those its entry gives (a bench under tsx starts the built thread with none)', async t => {
	const {home, targets} = await fleet();
	const url = new URL('../fixtures/flags-dispatch-thread.mjs', import.meta.url);
	const flagsOf = async (entry: Parameters<typeof openDispatchThreads>[2]) => {
		const threads = openDispatchThreads(1, controllerCredentials(home), entry);
		const context = createClientContext(controllerCredentials(home));
		let reason: string | undefined;
		await dispatch(targets.slice(0, 1), requestOf('quick', '00000000-0000-4000-8000-0000000000c6'), {context, parallel: 1, runOnHost: threads.runOnHost, emit(event) {
			if (event.type === 'agent-finished') {
				reason = event.result.reason;
			}
		}}).finally(async () => threads.close());
		await context.close();
		return JSON.parse(/\(flags (.*?)\)/.exec(reason ?? '')?.[1] ?? 'null') as unknown;
	};

	t.deepEqual(await flagsOf(url), process.execArgv, 'this process\'s, by default');
	t.true(process.execArgv.some(flag => flag.includes('tsx')), 'these tests run under tsx');
	t.deepEqual(await flagsOf({url, execArgv: []}), []);
	t.deepEqual(await flagsOf({url, execArgv: ['--no-warnings']}), ['--no-warnings']);
});

test.serial('threads the system will not make (new Worker throws) are left out: every host runs on the main thread, and its describe too', async t => {
	const {home, targets} = await fleet();
	// A URL node refuses to start a worker from, synchronously, as it refuses a thread it cannot create (ERR_WORKER_INIT_FAILED).
	const threads = openDispatchThreads(2, controllerCredentials(home), new URL('https://example.invalid/dispatch-thread.js'));
	const context = createClientContext(controllerCredentials(home));
	t.is(threads.describe(targets[0]!, {timeoutMs: 10_000, holdUpTo: 0}), undefined, 'no thread to describe on');
	const summary = await dispatch(targets, requestOf('quick', '00000000-0000-4000-8000-0000000000c5'), {context, parallel: 16, runOnHost: threads.runOnHost, emit() {}}).finally(async () => threads.close());
	await context.close();
	t.deepEqual(summary.counts, {ok: names.length});
});

test.serial('describes on the threads refuse a revoked serial however many describes each thread had before (the serials go to each thread once)', async t => {
	const {home, targets} = await fleet();
	const {agents} = await openControllerRegistry(controllerPaths(home)).read();
	const serialOf = (name: string) => agents.find(agent => agent.name === name)!.serial;
	// The last two described: each thread has answered describes before theirs.
	const revoked = new Set([serialOf('t5'), serialOf('t6'), '00ff']);
	const threads = openDispatchThreads(2, controllerCredentials(home), sourceThread);
	const context = createClientContext(controllerCredentials(home));
	const found = await discoverAgents(targets, context, {parallel: 2, timeoutMs: 10_000, revoked, threads: {pool: threads, holdUpTo: 0}}).finally(async () => threads.close());
	await context.close();
	t.deepEqual(found.map(each => [each.name, each.status]), names.map(name => [name, name === 't5' || name === 't6' ? 'unreachable' : 'reachable']));
	for (const name of ['t5', 't6']) {
		t.regex(found.find(each => each.name === name)?.reason ?? '', new RegExp(`certificate serial ${serialOf(name)}, which is revoked`));
	}
});
