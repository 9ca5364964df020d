/**
 * An MCP tool's run answer holds no more output than the token's budget while the run goes: each
 * host is cut to its share as it finishes (collectHostViews), not after every host's whole result
 * was kept. Counted, not timed (test/helpers/many-hosts-run.ts): results alive after garbage
 * collection, and bytes held, midway (all hosts but the last done) and after. The collector the
 * face used before (every whole result, cut at the end) is measured the same way and holds them all.
 */
import test from 'ava';
import {collectHostViews, hostsToolResult, runToolResult} from '../../source/mcp/results.js';
import {collectResults} from '../../source/run/collect-results.js';
import {outputBytes, runManyHosts} from '../helpers/many-hosts-run.js';

const budget = 64 * 1024;
const mib = 1024 * 1024;
const answerOf = {requestId: '00000000-0000-4000-8000-000000000001', script: 'big', dryRun: false, cancelled: false, complete: true};

for (const hosts of [40, 400]) {
	test.serial(`${hosts} hosts of 64 KiB each: no whole result kept, the output held within the budget`, async t => {
		const collected = collectHostViews(budget);
		const run = await runManyHosts(hosts, collected.emit);
		t.log(`${hosts} hosts: held midway ${(run.midway.heldBytes / mib).toFixed(2)} MiB, after ${(run.after.heldBytes / mib).toFixed(2)} MiB`);
		t.is(run.midway.aliveResults, 0);
		t.is(run.after.aliveResults, 0);
		t.true(run.midway.heldBytes < 2 * mib, `held midway: ${run.midway.heldBytes} bytes`);
		const views = collected.results();
		t.is(views.length, hosts);
		const shown = views.reduce((sum, view) => sum + Buffer.byteLength(view.stdout) + Buffer.byteLength(view.stderr), 0);
		t.true(shown <= budget, `${shown} bytes of output in the answer`);
		t.true(views.every(view => view.outputTruncated && view.stdoutBytes === outputBytes));
		const answer = hostsToolResult(answerOf, views);
		t.like(answer.structuredContent, {counts: {ok: hosts - (hosts / 10), failed: hosts / 10}});
		t.true(answer.isError);
	});
}

test.serial('cut while collecting or after, the answer is the same', async t => {
	const views = collectHostViews(budget);
	const whole = collectResults();
	await runManyHosts(40, event => {
		views.emit(event);
		whole.emit(event);
	});
	t.deepEqual(hostsToolResult(answerOf, views.results()), runToolResult({...answerOf, results: whole.results()}, budget));
});

test.serial('the measure sees what the face held before: every whole result until the run ended', async t => {
	const whole = collectResults();
	const run = await runManyHosts(400, whole.emit);
	t.true(run.midway.aliveResults >= 399);
	t.true(run.midway.heldBytes > 399 * outputBytes, `held midway: ${run.midway.heldBytes} bytes`);
	t.is(whole.results().length, 400);
});
