/**
 * A run's memory does not grow with its hosts' output: once a host's result has gone out as an
 * event (to the plain printer and the `--json` writer), nothing in the dispatcher or the CLI's
 * printers keeps it. Counted, not timed: every result the hosts hand back, and every result the
 * events carry, is tracked with a WeakRef, the garbage collector is run, and the results still alive are counted. The
 * same count over a collector that does keep them (collectResults keeping whole results)
 * shows the counting works.
 */
import test from 'ava';
import {createJsonRunWriter} from '../../source/output/json-run.js';
import {createPlainRunPrinter} from '../../source/output/plain-run.js';
import {collectResults} from '../../source/run/collect-results.js';
import type {RunEvent} from '../../source/run/events.js';
import {runManyHosts} from '../helpers/many-hosts-run.js';

/** The run of test/helpers/many-hosts-run.ts through the CLI's two printers (and `keep`, a face that keeps). */
async function run(hosts: number, keep?: (event: RunEvent) => void) {
	const plain = createPlainRunPrinter(() => undefined, {nameWidth: 8});
	const json = createJsonRunWriter(() => undefined);
	const {midway, after, summary} = await runManyHosts(hosts, event => {
		plain.onEvent(event);
		json.onEvent(event);
		keep?.(event);
	});
	return {aliveMidway: midway.aliveResults, aliveAfter: after.aliveResults, summary};
}

for (const hosts of [40, 400]) {
	test.serial(`${hosts} hosts of 64 KiB each: no result is kept, midway or after; the summary is bounded`, async t => {
		const {aliveMidway, aliveAfter, summary} = await run(hosts);
		t.is(aliveMidway, 0);
		t.is(aliveAfter, 0);
		t.deepEqual(summary.counts, {ok: hosts - hosts / 10, failed: hosts / 10});
		t.is(summary.notOk.length, Math.min(hosts / 10, 20), 'the first 20 failures listed');
		t.is(summary.unlisted, Math.max(0, hosts / 10 - 20), 'the rest counted');
		t.deepEqual(summary.notOk[0], {agent: 'web10', status: 'failed', exitCode: 1, signal: null, durationMs: 10, reason: 'exit 1'}, 'no output in the summary');
	});
}

test.serial('the count sees results a face keeps: a collector holds all 40', async t => {
	const collected = collectResults();
	const {aliveMidway, aliveAfter} = await run(40, collected.emit);
	t.true(aliveMidway >= 39);
	t.true(aliveAfter >= 40);
	t.is(collected.results().length, 40);
});
