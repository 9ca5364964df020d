/**
 * How the dispatcher starts and ends hosts (dispatcher.ts startHosts and rollOut), with hosts of
 * the test's own (`runOnHost`) that end when the test says: the window holds, every target ends
 * exactly once, canary results reach the question in target order whatever order they ended in,
 * the hosts not started after a stop end skipped, and a host whose run throws rejects the run only
 * once every started host has ended (before, its promise was left rejected with nobody listening).
 */
import test from 'ava';
import type {ClientContext} from '../../source/dispatch/agent-connection.js';
import {dispatch, type DispatchOptions} from '../../source/dispatch/dispatcher.js';
import type {AgentResult, RunEvent} from '../../source/run/events.js';

const request = {requestId: '00000000-0000-4000-8000-000000000002', script: 'wait', args: [], caller: 'test', timeoutMs: 1000, dryRun: false};
const targets = (count: number) => Array.from({length: count}, (_, index) => ({name: `web${index + 1}`, address: '127.0.0.1:1'}));
const result = (agent: string, status: AgentResult['status']): AgentResult => ({agent, status, exitCode: status === 'ok' ? 0 : 1, signal: null, stdout: '', stderr: '', truncated: false, durationMs: 0});

/** Hosts that end when `end(name)` is called, with the status `statusOf(name)`; `running` counts them. */
function heldHosts(statusOf: (name: string) => AgentResult['status'] | Error = () => 'ok') {
	const waiting = new Map<string, () => void>();
	const state = {running: 0, most: 0, started: [] as string[]};
	const runOnHost: DispatchOptions['runOnHost'] = async target => {
		state.started.push(target.name);
		state.most = Math.max(state.most, ++state.running);
		await new Promise<void>(resolve => {
			waiting.set(target.name, resolve);
		});
		state.running--;
		const status = statusOf(target.name);
		if (status instanceof Error) {
			throw status;
		}

		return result(target.name, status);
	};

	/** Ends the running hosts, newest first (so ends come out of target order), one per macrotask. */
	const endAll = async () => {
		while (waiting.size > 0) {
			const [name, resolve] = [...waiting].at(-1)!;
			waiting.delete(name);
			resolve();
			await new Promise(setImmediate);
		}
	};

	return {runOnHost, state, waiting, endAll};
}

async function drive(hosts: ReturnType<typeof heldHosts>, run: Promise<unknown>): Promise<void> {
	let done = false;
	void run.then(() => {
		done = true;
	}, () => {
		done = true;
	});
	while (!done) {
		await new Promise(setImmediate);
		await hosts.endAll();
	}
}

test('at most --parallel hosts run at once; every target ends exactly once, between run-started and run-finished', async t => {
	const hosts = heldHosts(name => name === 'web4' ? 'failed' : 'ok');
	const events: RunEvent[] = [];
	const run = dispatch(targets(7), request, {context: {} as ClientContext, parallel: 3, runOnHost: hosts.runOnHost, emit: event => events.push(event)});
	await drive(hosts, run);
	const summary = await run;
	t.is(hosts.state.most, 3);
	t.deepEqual(hosts.state.started, targets(7).map(target => target.name));
	const finished = events.filter(event => event.type === 'agent-finished').map(event => event.type === 'agent-finished' ? event.result.agent : '');
	t.deepEqual([...finished].sort(), targets(7).map(target => target.name).sort());
	t.is(events[0]!.type, 'run-started');
	t.is(events.at(-1)!.type, 'run-finished');
	t.deepEqual(summary.counts, {ok: 6, failed: 1});
});

test('the canary question gets the canary hosts\' results in target order, though they ended newest first', async t => {
	const hosts = heldHosts();
	const asked: string[][] = [];
	const run = dispatch(targets(5), request, {
		context: {} as ClientContext,
		parallel: 4,
		canary: 3,
		runOnHost: hosts.runOnHost,
		async approveCanary(canary) {
			asked.push(canary.map(each => each.agent));
			return true;
		},
	});
	await drive(hosts, run);
	const summary = await run;
	t.deepEqual(asked, [['web1', 'web2', 'web3']]);
	t.deepEqual(summary.counts, {ok: 5});
});

test('over --max-failures no host starts; the rest end skipped, saying why', async t => {
	const hosts = heldHosts(() => 'failed');
	const events: RunEvent[] = [];
	const run = dispatch(targets(6), request, {context: {} as ClientContext, parallel: 2, maxFailures: {value: 1, percent: false}, runOnHost: hosts.runOnHost, emit: event => events.push(event)});
	await drive(hosts, run);
	const summary = await run;
	t.is(summary.counts.skipped, 6 - hosts.state.started.length);
	t.true(hosts.state.started.length < 6);
	const skipped = events.flatMap(event => event.type === 'agent-finished' && event.result.status === 'skipped' ? [event.result.reason] : []);
	t.deepEqual(new Set(skipped), new Set(['not started: 2 failures, over --max-failures 1']));
});

test('a host whose run throws: the run rejects with that error once every started host has ended, and the others\' results went out', async t => {
	const hosts = heldHosts(name => name === 'web2' ? new Error('a bug in a host') : 'ok');
	const finished: string[] = [];
	const run = dispatch(targets(4), request, {
		context: {} as ClientContext,
		parallel: 4,
		runOnHost: hosts.runOnHost,
		emit(event) {
			if (event.type === 'agent-finished') {
				finished.push(event.result.agent);
			}
		},
	});
	await drive(hosts, run);
	await t.throwsAsync(run, {message: 'a bug in a host'});
	t.is(hosts.state.running, 0);
	t.deepEqual(finished.sort(), ['web1', 'web3', 'web4']);
});
