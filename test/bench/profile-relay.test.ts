/**
 * bench/profile-relay.ts completes on 3 agents over a real nats-server, with this checkout also
 * given as BENCH_BASE (a second broker and fleet, its relay agents and dispatcher taken from
 * there), every agent ok over both transports, the CPU of each side (controller, agents, broker)
 * reported per agent. A functional check; it asserts no time. Skipped without nats-server.
 */
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import test from 'ava';
import {natsServerMissing} from '../helpers/nats-broker.js';
import {repoRoot, runBench} from '../helpers/run-bench.js';

const missing = natsServerMissing();

test('the relay\'s CPU by side completes on 3 agents with a base checkout, every agent ok', async t => {
	if (missing) {
		t.log(`skipped: ${missing}`);
		t.pass();
		return;
	}

	// Host processes start with tsx: minutes on a machine busy with other tests.
	t.timeout(900_000);
	const cache = mkdtempSync(join(tmpdir(), 'xi-exec-fleet-cache-'));
	try {
		const run = await runBench('bench/profile-relay.ts', {BENCH_SIZES: '3', BENCH_REPS: '1', BENCH_WORKERS: '1', BENCH_BASE: repoRoot, BENCH_FLEET_CACHE: cache});
		t.is(run.code, 0, run.stderr);
		const sides = String.raw`ms/agent: controller [\d.]+, agents [\d.]+, broker [\d.]+, total [\d.]+`;
		const against = String.raw`controller-bound wall [\d.]+ s +direct TLS / this: wall (?:[\d.]+×|n/a), controller-bound (?:[\d.]+×|n/a)`;
		t.regex(run.stdout, new RegExp(`N=3 dry run: direct TLS +\\S+ s +${sides}; controller-bound wall`));
		t.regex(run.stdout, new RegExp(`N=3 dry run: floor +\\S+ s +${sides}; ${against}`));
		t.regex(run.stdout, new RegExp(`N=3 dry run: relay +\\S+ s +${sides}; ${against}`));
		t.regex(run.stdout, new RegExp(`N=3 dry run: relay of ${repoRoot}`));
		t.notRegex(run.stdout, /not ok/, 'every run reached every agent');
	} finally {
		rmSync(cache, {recursive: true, force: true});
	}
});
