/**
 * bench/profile-dispatch.ts completes with this checkout also given as BENCH_BASE (its other-checkout
 * path: the dispatcher and progress line imported from there), every host ok, each row's CPU per
 * host reported and compared. A functional check; it asserts no time.
 */
import test from 'ava';
import {repoRoot, runBench} from '../helpers/run-bench.js';

test('the controller-only profile completes with a base checkout, every host ok', async t => {
	t.timeout(300_000);
	const run = await runBench('bench/profile-dispatch.ts', {BENCH_SIZES: '50', BENCH_REPS: '1', BENCH_BASE: repoRoot});
	t.is(run.code, 0, run.stderr);
	t.regex(run.stdout, /N=50: dispatch, this checkout +[\d.]+ µs\/host +controller CPU [\d.]+ s/);
	t.regex(run.stdout, /N=50: dispatch \+ progress line, this checkout +[\d.]+ µs\/host/);
	t.regex(run.stdout, new RegExp(`N=50: dispatch \\+ progress line, ${repoRoot} +[\\d.]+ µs/host +controller CPU [\\d.]+ s +this checkout [\\d.]+× of it`));
	t.notRegex(run.stdout, /not ok/, 'every host of every run ended ok');
});
