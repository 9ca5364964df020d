/**
 * The bench's latency section completes at a tiny size: the agents, the floor and (when installed)
 * sshd behind the delaying proxies, round trips counted, the CPU of each side in the notes, no
 * session tickets from the bench's servers, and the latency-bound model's rows. A functional check
 * of the bench code; it asserts no time.
 */
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import test from 'ava';
import {findSshTools} from '../../bench/loopback-sshd.js';
import {runBench} from '../helpers/run-bench.js';

const ssh = findSshTools();

test('the latency section completes on 3 agents: counted round trips, CPU by side, and the model rows', async t => {
	t.timeout(900_000);
	const cache = mkdtempSync(join(tmpdir(), 'xi-exec-fleet-cache-'));
	try {
		const run = await runBench('bench/fan-out.ts', {BENCH_SIZES: '3', BENCH_REPS: '1', BENCH_WORKERS: '1', BENCH_ONLY: 'latency', BENCH_FLEET_CACHE: cache});
		t.is(run.code, 0, run.stderr);
		t.regex(run.stdout, /TLS session tickets sent on one connection: agent 0, floor 0/);
		t.regex(run.stdout, /50 ms RTT N=3 dispatcher: .*per host 3\.0 in 1\.0 connections \(TCP, TLS 1\.3 handshake, run\); CPU controller [\d.]+ s, hosts [\d.]+ s, proxies [\d.]+ s/);
		t.regex(run.stdout, /50 ms RTT N=3 model, hosts on their own machines: dispatcher/);
		t.regex(run.stdout, /model CLI: [\d.]+ s, bound by (controller CPU|round trips)/);
		// After one uncounted run fills the description cache, a run without arguments sends each host its run at once.
		t.regex(run.stdout, /50 ms RTT N=3 CLI \(planned from cache: 3 of 3 hosts\): .*per host 3\.0 in 1\.0 connections \(TCP, TLS 1\.3 handshake, run\)/, 'a run on several hosts is planned from the cache');
		// Dialled early, the handshake's last flight leaves before the request; with no ticket flight it is still 3.
		t.regex(run.stdout, /50 ms RTT one-shot CLI: [\d.]+ s; 3 round trips in 1 connections/);
		if (typeof ssh === 'string') {
			t.regex(run.stdout, /ssh and parallel-ssh skipped/);
		} else {
			t.regex(run.stdout, /50 ms RTT N=3 model, hosts on their own machines: parallel-ssh -p 32/);
			t.regex(run.stdout, /model parallel-ssh -p 3: /);
		}

		t.notRegex(run.stdout, /not ok|INVALID/, 'every run reached every host');
	} finally {
		rmSync(cache, {recursive: true, force: true});
	}
});
