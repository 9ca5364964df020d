/**
 * A run's memory does not grow with its hosts' output: once a host's result has gone out as an
 * event (to the plain printer and the `--json` writer), nothing in the dispatcher or the CLI's
 * printers keeps it. Counted, not timed: every result the hosts hand back, and every result the
 * events carry, is tracked with a WeakRef, the garbage collector is run, and the results still alive are counted. The
 * same count over a collector that does keep them (collectResults, as the console and MCP use)
 * shows the counting works.
 */
import {setImmediate as nextTurn} from 'node:timers/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import test from 'ava';
import type {ClientContext} from '../../source/dispatch/agent-connection.js';
import {dispatch} from '../../source/dispatch/dispatcher.js';
import {createJsonRunWriter} from '../../source/output/json-run.js';
import {createPlainRunPrinter} from '../../source/output/plain-run.js';
import {collectResults} from '../../source/run/collect-results.js';
import type {AgentResult, RunEvent} from '../../source/run/events.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Results still reachable after a full collection (WeakRefs are held through the current turn, so collect on a fresh one). */
async function alive(refs: ReadonlyArray<WeakRef<AgentResult>>): Promise<number> {
	await nextTurn();
	gc();
	await nextTurn();
	gc();
	return refs.filter(ref => ref.deref() !== undefined).length;
}

type Run = {aliveMidway: number; aliveAfter: number; summary: Awaited<ReturnType<typeof dispatch>>};

/**
 * N hosts, each printing 64 KiB of its own (no two alike), every 10th failing; the last host
 * waits until every other has finished, so the count midway is taken with N-1 results out.
 */
async function run(hosts: number, keep?: (event: RunEvent) => void): Promise<Run> {
	const refs: Array<WeakRef<AgentResult>> = [];
	let finished = 0;
	let midway: (() => void) | undefined;
	const allButLast = new Promise<void>(resolve => {
		midway = resolve;
	});
	let release: (() => void) | undefined;
	const gate = new Promise<void>(resolve => {
		release = resolve;
	});
	const plain = createPlainRunPrinter(() => undefined, {nameWidth: 8});
	const json = createJsonRunWriter(() => undefined);
	const targets = Array.from({length: hosts}, (_, index) => ({name: `web${index + 1}`, address: '127.0.0.1:1'}));
	const running = dispatch(targets, {requestId: 'r1', script: 'big', args: [], caller: 'test', timeoutMs: 1000, dryRun: false}, {
		context: {} as ClientContext,
		parallel: 16,
		async runOnHost(target, _request, options) {
			options.emit({type: 'agent-connecting', agent: target.name});
			if (target.name === `web${hosts}`) {
				await gate;
			}

			await nextTurn();
			const index = Number(target.name.slice(3));
			const stdout = `${target.name} `.repeat(65_536 / 8).slice(0, 65_536);
			options.emit({type: 'agent-output', agent: target.name, stream: 'stdout', data: stdout});
			const result: AgentResult = {agent: target.name, status: index % 10 === 0 ? 'failed' : 'ok', exitCode: index % 10 === 0 ? 1 : 0, signal: null, stdout, stderr: '', truncated: false, durationMs: index, ...(index % 10 === 0 ? {reason: 'exit 1'} : {})};
			refs.push(new WeakRef(result));
			if (++finished === hosts - 1) {
				setImmediate(() => midway?.());
			}

			return result;
		},
		emit(event) {
			if (event.type === 'agent-finished') {
				// What the faces are handed, which may be a copy of what the host answered.
				refs.push(new WeakRef(event.result));
			}

			plain.onEvent(event);
			json.onEvent(event);
			keep?.(event);
		},
	});
	await allButLast;
	const aliveMidway = await alive(refs);
	release?.();
	const summary = await running;
	return {aliveMidway, aliveAfter: await alive(refs), summary};
}

for (const hosts of [40, 400]) {
	test(`${hosts} hosts of 64 KiB each: no result is kept, midway or after; the summary is bounded`, async t => {
		const {aliveMidway, aliveAfter, summary} = await run(hosts);
		t.is(aliveMidway, 0);
		t.is(aliveAfter, 0);
		t.deepEqual(summary.counts, {ok: hosts - hosts / 10, failed: hosts / 10});
		t.is(summary.notOk.length, Math.min(hosts / 10, 20), 'the first 20 failures listed');
		t.is(summary.unlisted, Math.max(0, hosts / 10 - 20), 'the rest counted');
		t.deepEqual(summary.notOk[0], {agent: 'web10', status: 'failed', exitCode: 1, signal: null, durationMs: 10, reason: 'exit 1'}, 'no output in the summary');
	});
}

test('the count sees results a face keeps: a collector holds all 40', async t => {
	const collected = collectResults();
	const {aliveMidway, aliveAfter} = await run(40, collected.emit);
	t.true(aliveMidway >= 39);
	t.true(aliveAfter >= 40);
	t.is(collected.results().length, 40);
});
