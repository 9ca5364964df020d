/**
 * Does spreading the controller's host exchanges over dispatch threads help? The same fan-out
 * through the real dispatcher, once on the main thread alone and once with the product's dispatch
 * threads (source/dispatch/thread-pool.ts, one per core, started for the run as a run starts them,
 * from the built bundle), interleaved, on the same agents. Wall time; the controller's CPU, all of
 * it and the main thread's own (what a run on more cores waits for once the threads share the
 * rest), and the busiest other threads' (the dispatch threads: does each use a core); the
 * process's peak RSS during the run; the same for the run's describe
 * (measure-describe-threads.ts). Measured only when asked: BENCH_ONLY=threads.
 */
import {readdirSync, readFileSync} from 'node:fs';
import {cpus} from 'node:os';
import {performance} from 'node:perf_hooks';
import {openDispatchThreads, threadsAvailable, type ThreadEntry} from '../source/dispatch/thread-pool.js';
import type {BenchFleet} from './fleet.js';
import {ownCpuMs, ownRssKiB, resetPeakRss} from './hosts.js';
import {loadAverage} from './environment.js';
import {dispatcherFanOut} from './ours.js';
import {median} from './processes.js';
import type {Report} from './report.js';
import {ratio, seconds} from './table.js';
import {measureDescribeThreads} from './measure-describe-threads.js';

/**
 * The dispatch thread as the CLI starts it: the bundle's (npm run build), with no node flags, as
 * the CLI has none (a thread takes this process's by default: --import=tsx would load tsx in each).
 */
const builtThread: ThreadEntry = {url: new URL('../dist/source/chunks/thread-worker.js', import.meta.url), execArgv: []};

/** CPU time of one of this process's threads so far (ms): /proc's utime + stime, in clock ticks of 10 ms; 0 once it has ended. */
function taskCpuMs(tid: string): number {
	try {
		const fields = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
		return (Number(fields[11]) + Number(fields[12])) * 10;
	} catch {
		return 0;
	}
}

function mainThreadCpuMs(): number {
	return taskCpuMs(String(process.pid));
}

/** Every other thread's CPU so far (ms), by thread id: the dispatch threads, V8's and libuv's. */
function otherThreadsCpuMs(): Map<string, number> {
	return new Map(readdirSync('/proc/self/task').filter(tid => tid !== String(process.pid)).map(tid => [tid, taskCpuMs(tid)]));
}

/** The `count` busiest other threads since `before` (ms each): with dispatch threads, whether each of them worked (both cores), read before they are stopped. */
function busiestSince(before: Map<string, number>, count: number): number[] {
	return [...otherThreadsCpuMs()].map(([tid, ms]) => ms - (before.get(tid) ?? 0)).sort((a, b) => b - a).slice(0, count);
}

type ThreadSample = {ms: number; cpu: number; main: number; agents: number; elu: number; peakMiB: number; busiest: number[]};

/** `agentsCpu`: CPU so far of the agents' host processes (ms), for each side's CPU per host. */
export async function measureThreads(report: Report, options: {fleet: BenchFleet; sizes: number[]; repetitions: number; parallel: number; spawn: boolean; agentsCpu?: () => number}, log: (text: string) => void): Promise<void> {
	if (!threadsAvailable(builtThread)) {
		report.notes.push('worker threads: not measured, the built dispatch thread is missing (npm run build)');
		return;
	}

	const count = Math.max(2, cpus().length);
	for (const size of options.sizes) {
		const targets = options.fleet.agents.slice(0, size).map(agent => agent.record);
		const repetitions = size >= 1000 ? Math.min(options.repetitions, 3) : options.repetitions;
		log(`worker threads: N=${size}, the dispatcher on the main thread alone and with ${count} dispatch threads, ${repetitions} runs each, interleaved`);
		const samples = {one: [] as ThreadSample[], threads: [] as ThreadSample[]};
		for (let run = 0; run < repetitions; run++) {
			for (const which of run % 2 === 0 ? ['one', 'threads'] as const : ['threads', 'one'] as const) {
				resetPeakRss();
				const before = {own: ownCpuMs(), main: mainThreadCpuMs(), others: otherThreadsCpuMs(), agents: options.agentsCpu?.() ?? 0, elu: performance.eventLoopUtilization(), rss: ownRssKiB().rss};
				// Started with the run, as a run starts them: their start-up is in the run's time.
				const started = performance.now();
				const threads = which === 'threads' ? openDispatchThreads(count, options.fleet.credentials, builtThread) : undefined;
				let busiest: number[] = [];
				const timing = await dispatcherFanOut(targets, options.fleet.credentials, options.parallel, {dryRun: !options.spawn, ...(threads ? {threads} : {})}).finally(async () => {
					busiest = busiestSince(before.others, count);
					await threads?.close();
				});
				const ms = performance.now() - started;
				samples[which].push({ms, cpu: ownCpuMs() - before.own, main: mainThreadCpuMs() - before.main, agents: (options.agentsCpu?.() ?? 0) - before.agents, elu: performance.eventLoopUtilization(before.elu).utilization, peakMiB: (ownRssKiB().peak - before.rss) / 1024, busiest});
				if (timing.failures.length > 0) {
					report.notes.push(`worker threads N=${size} ${which}, run ${run + 1}: ${timing.failures.length} not ok, e.g. ${timing.failures[0]}`);
				}
			}
		}

		const wall = (which: 'one' | 'threads') => median(samples[which].map(sample => sample.ms));
		const cpu = (which: 'one' | 'threads') => median(samples[which].map(sample => sample.cpu));
		for (const which of ['one', 'threads'] as const) {
			const each = samples[which];
			const perHost = (pick: (sample: ThreadSample) => number) => each.map(sample => `${(pick(sample) / size).toFixed(2)} ms`).join(', ');
			// Cores the controller kept busy (CPU / wall), how busy the main thread's loop was, and the main thread's own CPU: with threads, what one host costs the thread that cannot be spread.
			report.notes.push(`worker threads N=${size} ${which === 'one' ? 'main thread alone' : `${count} dispatch threads`}: wall ${each.map(sample => seconds(sample.ms)).join(', ')}; controller CPU ${each.map(sample => seconds(sample.cpu)).join(', ')} (${each.map(sample => `${(sample.cpu / sample.ms).toFixed(2)} cores`).join(', ')}; main loop busy ${each.map(sample => `${(100 * sample.elu).toFixed(0)} %`).join(', ')}); per host: controller ${perHost(sample => sample.cpu)}, of it the main thread ${perHost(sample => sample.main)}; the ${count} busiest other threads ${each.map(sample => sample.busiest.map(ms => seconds(ms)).join(' + ')).join(', ')}; agents ${perHost(sample => sample.agents)}; peak RSS +${each.map(sample => sample.peakMiB.toFixed(1)).join(', ')} MiB; load ${loadAverage()}`);
		}

		await measureDescribeThreads(report, {fleet: options.fleet, size, repetitions, count, entry: builtThread, mainThreadCpuMs});
		report.rows.push(
			{measure: `fan-out N=${size}${options.spawn ? '' : ' dry run'}: dispatcher on the main thread alone (controller CPU)`, value: seconds(wall('one')), cpu: seconds(cpu('one'))},
			{measure: `fan-out N=${size}${options.spawn ? '' : ' dry run'}: dispatcher with ${count} dispatch threads`, value: seconds(wall('threads')), cpu: seconds(cpu('threads')), ratio: `${ratio(wall('threads') / wall('one'))} main thread alone`},
		);
	}
}
