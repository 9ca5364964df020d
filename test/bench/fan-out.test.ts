/**
 * The bench's fan-out section completes at a tiny size: a fleet minted into (then taken from) a
 * fleet cache, direct TLS, the floor, and — when nats-server is installed — relay agents over one
 * broker, with the relay's dry runs cold (the built CLI) and warm against direct TLS, every host ok. A functional check of the bench code; it asserts no time.
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

test('the fan-out and relay sections complete on 3 agents, every host ok', async t => {
	// Host processes start with tsx: minutes on a machine busy with other tests.
	t.timeout(900_000);
	const cache = mkdtempSync(join(tmpdir(), 'xi-exec-fleet-cache-'));
	try {
		const run = await runBench('bench/fan-out.ts', {BENCH_SIZES: '3', BENCH_REPS: '1', BENCH_WORKERS: '1', BENCH_ONLY: 'fan-out,relay', BENCH_FLEET_CACHE: cache});
		t.is(run.code, 0, run.stderr);
		t.regex(run.stdout, /fan-out N=3: dispatcher, parallel 256/);
		t.regex(run.stdout, /fan-out N=3: floor \(bare mTLS \+ spawn\)/);
		// Each kind's own peak (VmHWM reset before each run), and what the run added over the RSS before it.
		t.regex(run.stdout, /client peak RSS N=3: dispatcher \(\+ during the run\) \/ floor's client +[\d.]+ MiB +\+-?[\d.]+ MiB; floor [\d.]+ MiB, \+-?[\d.]+ MiB/);
		if (missing) {
			t.regex(run.stdout, /relay rows left out/);
		} else {
			t.regex(run.stdout, /fan-out N=3: relay \(one nats-server\)/);
			// Cold: the built CLI over each transport; warm: a held client context (measure-relay.ts).
			for (const state of ['cold', 'warm']) {
				t.regex(run.stdout, new RegExp(`relay N=3 dry run, ${state} .+ [\\d.]+ ms \\+ [\\d.]+ ms/agent +[\\d.]+× faster than direct TLS ${state}`));
				t.regex(run.stdout, new RegExp(`direct TLS N=3 dry run, ${state} `));
			}
		}

		t.notRegex(run.stdout, /not ok/, 'every run reached every host');
	} finally {
		rmSync(cache, {recursive: true, force: true});
	}
});
