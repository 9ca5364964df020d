/**
 * Does spreading the controller's TLS handshakes over worker threads help? The same fan-out
 * through the real dispatcher, once in this thread and once split round-robin over one worker
 * thread per core (each with its own TLS context and its share of the parallelism), interleaved,
 * on the same agents. Wall time, and the controller's CPU (every thread of this process).
 * Measured only when asked: BENCH_ONLY=threads (or a list naming it).
 */
import {cpus} from 'node:os';
import {performance} from 'node:perf_hooks';
import {Worker} from 'node:worker_threads';
import type {AgentTarget} from '../source/dispatch/agent-connection.js';
import type {BenchFleet} from './fleet.js';
import type {FanOutTiming} from './floor.js';
import type {ThreadRun} from './fan-out-thread.js';
import {dealRoundRobin, ownCpuMs} from './hosts.js';
import {loadAverage} from './environment.js';
import {dispatcherFanOut} from './ours.js';
import {median} from './processes.js';
import type {Report} from './report.js';
import {ratio, seconds} from './table.js';

/** A worker thread running TypeScript: tsx's hooks are registered in the thread before the entry loads. */
function startThread(): Promise<Worker> {
	const entry = new URL('fan-out-thread.ts', import.meta.url).href;
	const worker = new Worker(`import('tsx/esm/api').then(api => { api.register(); return import(${JSON.stringify(entry)}); })`, {eval: true});
	return new Promise((resolve, reject) => {
		worker.once('message', () => resolve(worker));
		worker.once('error', reject);
	});
}

async function threadedFanOut(threads: readonly Worker[], targets: readonly AgentTarget[], fleet: BenchFleet, parallel: number, dryRun: boolean): Promise<FanOutTiming> {
	const started = performance.now();
	const shares = dealRoundRobin(targets, threads.length);
	const timings = await Promise.all(shares.map((share, index) => new Promise<FanOutTiming>(resolve => {
		const thread = threads[index]!;
		thread.once('message', resolve);
		const run: ThreadRun = {targets: share, credentials: fleet.credentials, parallel: Math.ceil(parallel / threads.length), dryRun};
		thread.postMessage(run);
	})));
	return {ms: performance.now() - started, ok: timings.reduce((sum, timing) => sum + timing.ok, 0), failures: timings.flatMap(timing => timing.failures)};
}

type ThreadSample = {ms: number; cpu: number; agents: number; elu: number};

/** The event-loop utilisation of the threads that ran the dispatcher (this one, or the mean of the workers) over `run`. */
async function withUtilisation<T>(loops: ReadonlyArray<{eventLoopUtilization: typeof performance.eventLoopUtilization}>, run: () => Promise<T>): Promise<{value: T; elu: number}> {
	const before = loops.map(loop => loop.eventLoopUtilization());
	const value = await run();
	const elu = loops.reduce((sum, loop, index) => sum + loop.eventLoopUtilization(before[index]).utilization, 0) / loops.length;
	return {value, elu};
}

/** `agentsCpu`: CPU so far of the agents' host processes (ms), for each side's CPU per host. */
export async function measureThreads(report: Report, options: {fleet: BenchFleet; sizes: number[]; repetitions: number; parallel: number; spawn: boolean; agentsCpu?: () => number}, log: (text: string) => void): Promise<void> {
	const count = cpus().length;
	const threads = await Promise.all(Array.from({length: count}, startThread));
	try {
		for (const size of options.sizes) {
			const targets = options.fleet.agents.slice(0, size).map(agent => agent.record);
			const repetitions = size >= 1000 ? Math.min(options.repetitions, 3) : options.repetitions;
			log(`worker threads: N=${size}, the dispatcher in this thread and over ${count} threads, ${repetitions} runs each, interleaved`);
			const samples = {one: [] as ThreadSample[], threads: [] as ThreadSample[]};
			for (let run = 0; run < repetitions; run++) {
				for (const which of run % 2 === 0 ? ['one', 'threads'] as const : ['threads', 'one'] as const) {
					const before = {own: ownCpuMs(), agents: options.agentsCpu?.() ?? 0};
					const {value: timing, elu} = which === 'one'
						? await withUtilisation([performance], async () => dispatcherFanOut(targets, options.fleet.credentials, options.parallel, {dryRun: !options.spawn}))
						: await withUtilisation(threads.map(thread => thread.performance), async () => threadedFanOut(threads, targets, options.fleet, options.parallel, !options.spawn));
					samples[which].push({ms: timing.ms, cpu: ownCpuMs() - before.own, agents: (options.agentsCpu?.() ?? 0) - before.agents, elu});
					if (timing.failures.length > 0) {
						report.notes.push(`worker threads N=${size} ${which}, run ${run + 1}: ${timing.failures.length} not ok, e.g. ${timing.failures[0]}`);
					}
				}
			}

			const wall = (which: 'one' | 'threads') => median(samples[which].map(sample => sample.ms));
			const cpu = (which: 'one' | 'threads') => median(samples[which].map(sample => sample.cpu));
			for (const which of ['one', 'threads'] as const) {
				const each = samples[which];
				// Cores the controller kept busy (CPU / wall) and how busy the dispatching threads' event loops were: near 1 core and 100 %, the controller is what the fan-out waits for.
				report.notes.push(`worker threads N=${size} ${which === 'one' ? 'one thread' : `${count} threads`}: wall ${each.map(sample => seconds(sample.ms)).join(', ')}; controller CPU ${each.map(sample => seconds(sample.cpu)).join(', ')} (${each.map(sample => `${(sample.cpu / sample.ms).toFixed(2)} cores`).join(', ')}; event loop busy ${each.map(sample => `${(100 * sample.elu).toFixed(0)} %`).join(', ')}); per host: controller ${each.map(sample => `${(sample.cpu / size).toFixed(2)} ms`).join(', ')}, agents ${each.map(sample => `${(sample.agents / size).toFixed(2)} ms`).join(', ')}; load ${loadAverage()}`);
			}

			report.rows.push(
				{measure: `fan-out N=${size}${options.spawn ? '' : ' dry run'}: dispatcher in one thread (controller CPU)`, value: seconds(wall('one')), cpu: seconds(cpu('one'))},
				{measure: `fan-out N=${size}${options.spawn ? '' : ' dry run'}: dispatcher over ${count} worker threads`, value: seconds(wall('threads')), cpu: seconds(cpu('threads')), ratio: `${ratio(wall('threads') / wall('one'))} one thread`},
			);
		}
	} finally {
		await Promise.all(threads.map(async thread => thread.terminate()));
	}
}
