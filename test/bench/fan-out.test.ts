/**
 * The bench's fan-out section completes at a tiny size: a fleet minted into (then taken from) a
 * fleet cache, direct TLS, the floor, and — when nats-server is installed — relay agents over one
 * broker, every host ok. A functional check of the bench code; it asserts no time.
 */
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import test from 'ava';
import {cachedFleet} from '../../bench/fleet-cache.js';
import {natsServerMissing} from '../../bench/broker.js';
import {runBench} from '../helpers/run-bench.js';

const missing = natsServerMissing();

test('a cached fleet serves any smaller size with the same certificates', async t => {
	const cache = mkdtempSync(join(tmpdir(), 'xi-exec-fleet-cache-'));
	try {
		const name = (index: number) => `cached-${index}`;
		const first = await cachedFleet(3, name, () => undefined, cache);
		t.true(first.minted);
		t.deepEqual(first.agents.map(agent => agent.name), ['cached-0', 'cached-1', 'cached-2']);
		t.is(new Set(first.agents.map(agent => agent.serial)).size, 3, 'each agent has its own certificate');
		const again = await cachedFleet(2, name, () => undefined, cache);
		t.false(again.minted);
		t.deepEqual(again.agents, first.agents.slice(0, 2));
	} finally {
		rmSync(cache, {recursive: true, force: true});
	}
});

test('the fan-out section completes on 3 agents, relay rows included, every host ok', async t => {
	// Host processes start with tsx: minutes on a machine busy with other tests.
	t.timeout(900_000);
	const cache = mkdtempSync(join(tmpdir(), 'xi-exec-fleet-cache-'));
	try {
		const run = await runBench('bench/fan-out.ts', {BENCH_SIZES: '3', BENCH_REPS: '1', BENCH_WORKERS: '1', BENCH_ONLY: 'fan-out', BENCH_FLEET_CACHE: cache});
		t.is(run.code, 0, run.stderr);
		t.regex(run.stdout, /fan-out N=3: dispatcher, parallel 256/);
		t.regex(run.stdout, /fan-out N=3: floor \(bare mTLS \+ spawn\)/);
		if (missing) {
			t.regex(run.stdout, /relay rows left out/);
		} else {
			t.regex(run.stdout, /fan-out N=3: relay \(one nats-server\)/);
			t.regex(run.stdout, /fan-out N=3 dry run \(no spawn\): relay/);
		}

		t.notRegex(run.stdout, /not ok/, 'every run reached every host');
	} finally {
		rmSync(cache, {recursive: true, force: true});
	}
});
