/**
 * A run's describe (one handshake and one describe exchange per target, before the request is
 * recorded) on the main thread alone and over the dispatch threads (discover.ts with the pool of
 * thread-pool.ts, started from the built bundle as a run starts them), interleaved, on the same
 * agents: wall time, the controller's CPU and of it the main thread's own, per target. Part of
 * BENCH_ONLY=threads (measure-threads.ts).
 */
import {performance} from 'node:perf_hooks';
import {createClientContext} from '../source/dispatch/agent-connection.js';
import {discoverAgents} from '../source/dispatch/discover.js';
import {openDispatchThreads, type ThreadEntry} from '../source/dispatch/thread-pool.js';
import type {BenchFleet} from './fleet.js';
import {loadAverage} from './environment.js';
import {ownCpuMs} from './hosts.js';
import {median} from './processes.js';
import type {Report} from './report.js';
import {ratio, seconds} from './table.js';

type Sample = {ms: number; cpu: number; main: number; unreachable: number};

export async function measureDescribeThreads(report: Report, options: {fleet: BenchFleet; size: number; repetitions: number; count: number; entry: ThreadEntry; mainThreadCpuMs: () => number}): Promise<void> {
	const targets = options.fleet.agents.slice(0, options.size).map(agent => agent.record);
	const context = createClientContext(options.fleet.credentials);
	const samples = {one: [] as Sample[], threads: [] as Sample[]};
	try {
		for (let run = 0; run < options.repetitions; run++) {
			for (const which of run % 2 === 0 ? ['one', 'threads'] as const : ['threads', 'one'] as const) {
				const before = {own: ownCpuMs(), main: options.mainThreadCpuMs()};
				const started = performance.now();
				const pool = which === 'threads' ? openDispatchThreads(options.count, options.fleet.credentials, options.entry) : undefined;
				// As a run's plan asks (core/run-plan.ts): 64 at once (on each thread with a core of its own: dispatch/thread-count.ts), 5 s each; nothing kept for a run here.
				const found = await discoverAgents(targets, context, {parallel: 64, timeoutMs: 5000, ...(pool ? {threads: {pool, holdUpTo: 0}} : {})}).finally(async () => pool?.close());
				samples[which].push({ms: performance.now() - started, cpu: ownCpuMs() - before.own, main: options.mainThreadCpuMs() - before.main, unreachable: found.filter(each => each.status !== 'reachable').length});
			}
		}
	} finally {
		await context.close();
	}

	const {size} = options;
	const perHost = (each: Sample[], pick: (sample: Sample) => number) => each.map(sample => `${(pick(sample) / size).toFixed(2)} ms`).join(', ');
	for (const which of ['one', 'threads'] as const) {
		const each = samples[which];
		report.notes.push(`describe N=${size} ${which === 'one' ? 'main thread alone' : `${options.count} dispatch threads`}: wall ${each.map(sample => seconds(sample.ms)).join(', ')}; per target: controller ${perHost(each, sample => sample.cpu)}, of it the main thread ${perHost(each, sample => sample.main)}; unreachable ${each.map(sample => sample.unreachable).join(', ')}; load ${loadAverage()}`);
	}

	const main = (which: 'one' | 'threads') => median(samples[which].map(sample => sample.main)) / size;
	const wall = (which: 'one' | 'threads') => median(samples[which].map(sample => sample.ms));
	report.rows.push(
		{measure: `describe N=${size}: main thread alone (its CPU per target)`, value: seconds(wall('one')), cpu: `${main('one').toFixed(2)} ms`},
		{measure: `describe N=${size}: with ${options.count} dispatch threads (main thread's CPU per target)`, value: seconds(wall('threads')), cpu: `${main('threads').toFixed(2)} ms`, ratio: `wall ${ratio(wall('threads') / wall('one'))}, main thread ${ratio(main('threads') / main('one'))}`},
	);
}
