/**
 * bench/profile-fan-out.ts completes on 3 agents with this checkout also given as BENCH_BASE (its
 * other-checkout path: a second fleet, its own host processes, its dispatcher imported from
 * there), every host ok, each side's CPU reported. A functional check; it asserts no time.
 */
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import test from 'ava';
import {repoRoot, runBench} from '../helpers/run-bench.js';

test('the CPU-by-side fan-out completes on 3 agents with a base checkout, every host ok', async t => {
	// Host processes start with tsx: minutes on a machine busy with other tests.
	t.timeout(900_000);
	const cache = mkdtempSync(join(tmpdir(), 'xi-exec-fleet-cache-'));
	try {
		const run = await runBench('bench/profile-fan-out.ts', {BENCH_SIZES: '3', BENCH_REPS: '1', BENCH_WORKERS: '1', BENCH_BASE: repoRoot, BENCH_FLEET_CACHE: cache});
		t.is(run.code, 0, run.stderr);
		t.regex(run.stdout, /N=3: dispatcher +\S+ s +controller [\d.]+ ms, agent [\d.]+ ms \(scripts [\d.]+ ms\) \/host +controller [\d.]+×, agent (?:[\d.]+×|n\/a)/); // the floor's agents may use less than a clock tick at N=3
		t.regex(run.stdout, /N=3: floor /);
		t.regex(run.stdout, new RegExp(`N=3: dispatcher of ${repoRoot}`));
		t.notRegex(run.stdout, /not ok/, 'every run reached every host');
	} finally {
		rmSync(cache, {recursive: true, force: true});
	}
});
