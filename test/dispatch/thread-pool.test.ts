/**
 * A run's hosts spread over dispatch threads (source/dispatch/thread-pool.ts), against real agents
 * over TLS on 127.0.0.1: the same run with one thread and with two gives the same results, audit
 * and history (through the real CLI, the setting `dispatchThreads` in the controller's config);
 * a cancel reaches every host in every thread and leaves no script running; a thread that stops
 * ends each host it held as one clear error, and every other host as usual.
 */
import {setTimeout as delay} from 'node:timers/promises';
import test from 'ava';
import {createClientContext, type AgentTarget} from '../../source/dispatch/agent-connection.js';
import {dispatch} from '../../source/dispatch/dispatcher.js';
import {openDispatchThreads} from '../../source/dispatch/thread-pool.js';
import type {AgentResult, RunEvent} from '../../source/run/events.js';
import {controllerCli, controllerCredentials, createController, enrolAgent, freePort, installScript, startAgent, waitFor, type RunningAgent} from '../helpers/fleet.js';
import {threadedCliRun} from './thread-cli-run.js';

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

test.serial('the same run with one thread and with two: the same results, audit records and history', async t => {
	const {home} = await fleet();
	const one = await threadedCliRun(home, 1, {command: process.execPath, prefix: [controllerCli]});
	const two = await threadedCliRun(home, 2, {command: process.execPath, prefix: [controllerCli]});
	t.true(two.mostThreads >= one.mostThreads + 2, `two dispatch threads ran (${one.mostThreads} threads at most with one, ${two.mostThreads} with two)`);
	t.deepEqual([...new Set(two.ranOn.values())].sort(), [1, 2, 'main'], `the describe's two held connections on the main thread, the other hosts on both threads: ${JSON.stringify([...two.ranOn])}`);
	t.is(two.threadIds.size, 2);
	t.is(one.ranOn.size, 0, 'one thread: no dispatch thread');
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
