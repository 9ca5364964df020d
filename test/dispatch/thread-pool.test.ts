/**
 * A run's hosts spread over dispatch threads (source/dispatch/thread-pool.ts), against real agents
 * over TLS on 127.0.0.1: the same run with one thread and with two gives the same results, audit
 * and history (through the real CLI, the setting `dispatchThreads` in the controller's config);
 * a cancel reaches every host in every thread and leaves no script running; a thread that stops
 * ends each host it held as one clear error, and every other host as usual.
 */
import {readdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {setTimeout as delay} from 'node:timers/promises';
import test from 'ava';
import {createClientContext, type AgentTarget} from '../../source/dispatch/agent-connection.js';
import {dispatch} from '../../source/dispatch/dispatcher.js';
import {openDispatchThreads} from '../../source/dispatch/thread-pool.js';
import type {AgentResult, RunEvent} from '../../source/run/events.js';
import {controllerCli, controllerCredentials, createController, enrolAgent, freePort, installScript, spawnCli, startAgent, waitFor, type RunningAgent} from '../helpers/fleet.js';

const names = ['t1', 't2', 't3', 't4', 't5', 't6'];
const stops: Array<() => Promise<void>> = [];

test.after.always(async () => {
	await Promise.all(stops.map(async stop => stop()));
});

type Fleet = {home: string; targets: AgentTarget[]; running: RunningAgent[]};

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
		return {home, targets: agents.map(agent => ({name: agent.name, address: `127.0.0.1:${agent.port}`})), running};
	})();
	return shared;
}

/** The dispatch thread from the source (these tests run under tsx); the CLI's is the built one. */
const sourceThread = new URL('../fixtures/dispatch-thread.mjs', import.meta.url);

const requestOf = (script: string, id: string) => ({requestId: id, script, args: [], caller: 'test', timeoutMs: 60_000, dryRun: false});

/** The threads of a running process (the main one, node's own, and one per dispatch thread). */
function threadCount(pid: number): number {
	try {
		return readdirSync(`/proc/${pid}/task`).length;
	} catch {
		return 0;
	}
}

/** `xi-exec run quick --on all --json` with `dispatchThreads` set; its results, audit records and history, with what differs by run or by clock taken out. */
async function cliRun(home: string, threads: number): Promise<{results: unknown[]; audit: unknown[]; history: unknown[]; mostThreads: number}> {
	writeFileSync(join(home, 'config.json'), JSON.stringify({dispatchThreads: threads}));
	// --parallel 2: the first two hosts go over their describe's connections (on the main thread), the others are dialled.
	const cli = spawnCli(controllerCli, ['run', 'quick', '--on', 'all', '--parallel', '2', '--json'], {XI_EXEC_HOME: home});
	let mostThreads = 0;
	const sampler = setInterval(() => {
		mostThreads = Math.max(mostThreads, threadCount(cli.child.pid!));
	}, 20);
	const done = await cli.done;
	clearInterval(sampler);
	if (done.code !== 0) {
		throw new Error(`exit ${done.code}: ${done.stderr}${done.stdout}`);
	}

	const run = JSON.parse(done.stdout) as {requestId: string; results: Array<Record<string, unknown>>};
	const clockless = ({durationMs: _duration, agentHead: _head, ...rest}: Record<string, unknown>) => rest;
	const byAgent = (a: unknown, b: unknown) => JSON.stringify(a).localeCompare(JSON.stringify(b));
	const audit = readFileSync(join(home, 'audit', 'controller.jsonl'), 'utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>)
		.filter(record => record['requestId'] === run.requestId)
		.map(({ts: _ts, seq: _seq, prev: _prev, hash: _hash, sig: _sig, requestId: _id, planHash: _plan, durationMs: _duration, agentHead: _head, ...rest}) => rest)
		.sort(byAgent);
	const file = readdirSync(join(home, 'runs')).find(name => name.includes(run.requestId))!;
	const history = readFileSync(join(home, 'runs', file), 'utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>)
		.map(({requestId: _id, startedAt: _started, endedAt: _ended, at: _at, durationMs: _duration, result, ...rest}) => ({...rest, ...(result ? {result: clockless(result as Record<string, unknown>)} : {})}))
		.sort(byAgent);
	return {results: run.results.map(clockless).sort(byAgent), audit, history, mostThreads};
}

test.serial('the same run with one thread and with two: the same results, audit records and history', async t => {
	const {home} = await fleet();
	const one = await cliRun(home, 1);
	const two = await cliRun(home, 2);
	t.true(two.mostThreads >= one.mostThreads + 2, `two dispatch threads ran (${one.mostThreads} threads at most with one, ${two.mostThreads} with two)`);
	t.is(one.results.length, names.length);
	t.true(one.results.every(result => (result as AgentResult).status === 'ok' && (result as AgentResult).stdout === 'from quick\ndone\n' && (result as AgentResult).stderr === 'to stderr\n'), JSON.stringify(one.results));
	t.deepEqual(two.results, one.results);
	t.deepEqual(two.audit, one.audit);
	t.deepEqual(two.history, one.history);
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
		t.regex(result.reason ?? '', /^the controller's dispatch thread [12] stopped while it ran this host \(the test's dispatch thread stopped\): what the agent did is unknown \(its audit log says\)$/);
		t.is(result.stdout, 'from quick\n', 'the output received before the stop is kept');
	}

	t.is(summary.counts.error, names.length / 2);
	await delay(0);
});
