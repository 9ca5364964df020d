/**
 * The controller's own work per host, without a network: `dispatch()` on N targets whose hosts are
 * the bench's (each says connecting, started, one line of output, and ends ok a turn of the event
 * loop later), at --parallel 256, and the same events through the CLI's live progress line
 * (commands/run-progress.ts, the run-state reducer). What is left of a fan-out's controller CPU
 * once TLS is taken away: the rollout, each host's cancel and timers, the events and their faces.
 *
 * With BENCH_BASE=DIR[,DIR...] (other checkouts of this repository) the same rounds also run each
 * checkout's dispatcher and progress line: a change's effect, measured in one run, interleaved.
 *
 *   node --expose-gc --import=tsx bench/profile-dispatch.ts
 *
 * Settings: BENCH_SIZES (1000,10000), BENCH_REPS (7), BENCH_BASE=DIR[,DIR].
 */
import {join} from 'node:path';
import {setImmediate as nextTurn} from 'node:timers/promises';
import {runBench} from './cleanup.js';
import {buildNotes, loadAverage, machine, readSettings} from './environment.js';
import {repoRoot} from './hosts.js';
import {interleavedRounds, profileReport} from './interleaved-rounds.js';
import {median} from './processes.js';
import {ratio} from './table.js';
import type {ClientContext} from '../source/dispatch/agent-connection.js';
import type {AgentResult, RunEvent} from '../source/run/events.js';

const log = (text: string) => process.stderr.write(`profile-dispatch: ${text}\n`);

type Dispatcher = typeof import('../source/dispatch/dispatcher.js');
type Progress = typeof import('../source/commands/run-progress.js');
type Sample = {cpuMs: number; failure?: string};
type Kind = {label: string; run: (size: number) => Promise<Sample>};

const request = {requestId: '00000000-0000-4000-8000-000000000001', script: 'uptime', args: [], caller: 'bench@localhost', timeoutMs: 30_000, dryRun: false};

/** A host of the bench's own: what an agent's answer makes the controller emit, without the TLS. */
async function host(target: {name: string}, _request: unknown, options: {emit: (event: RunEvent) => void}): Promise<AgentResult> {
	options.emit({type: 'agent-connecting', agent: target.name});
	await nextTurn();
	options.emit({type: 'agent-started', agent: target.name});
	options.emit({type: 'agent-output', agent: target.name, stream: 'stdout', data: ' 10:00:00 up 1 day,  1 user,  load average: 0.00, 0.00, 0.00\n'});
	return {agent: target.name, status: 'ok', exitCode: 0, signal: null, stdout: '', stderr: '', truncated: false, durationMs: 1};
}

/** One run of `size` hosts through `dispatcher` (and `progress`'s line, when given): this process's CPU and GC time. */
async function sample(dispatcher: Dispatcher, progress: Progress | undefined, size: number): Promise<Sample> {
	const targets = Array.from({length: size}, (_, index) => ({name: `bench-${index + 1}`, address: '127.0.0.1:1'}));
	const line = progress?.startProgress({write: () => undefined, window: 256, columns: () => 120});
	const before = process.cpuUsage();
	const summary = await dispatcher.dispatch(targets, request, {
		context: {} as ClientContext,
		parallel: 256,
		emit: line ? event => line.onEvent(event) : () => undefined,
		runOnHost: host,
	});
	const used = process.cpuUsage(before);
	line?.stop();
	const ok = summary.counts.ok ?? 0;
	return {cpuMs: (used.user + used.system) / 1000, ...(ok === size ? {} : {failure: `${size - ok} not ok`})};
}

async function main(): Promise<number> {
	const settings = readSettings();
	const sizes = process.env['BENCH_SIZES'] ? settings.sizes : [1000, 10_000];
	const repetitions = process.env['BENCH_REPS'] ? settings.repetitions : 7;
	const checkouts = [repoRoot, ...(process.env['BENCH_BASE']?.split(',').filter(Boolean) ?? [])];
	const notes = buildNotes(log);
	if (!notes) {
		return 2;
	}

	const kinds: Kind[] = [];
	for (const [index, checkout] of checkouts.entries()) {
		const dispatcher = await import(join(checkout, 'source/dispatch/dispatcher.ts')) as Dispatcher;
		const progress = await import(join(checkout, 'source/commands/run-progress.ts')) as Progress;
		const name = index === 0 ? 'this checkout' : checkout;
		kinds.push({label: `dispatch, ${name}`, run: async size => sample(dispatcher, undefined, size)}, {label: `dispatch + progress line, ${name}`, run: async size => sample(dispatcher, progress, size)});
	}

	log(`warm-up: ${kinds.length} kinds on 1000 hosts`);
	for (const kind of kinds) {
		await kind.run(1000);
	}

	const rows = [];
	const loadAtStart = loadAverage();
	for (const size of sizes) {
		log(`N=${size}: ${repetitions} rounds of ${kinds.map(kind => kind.label).join('; ')}`);
		const samples = await interleavedRounds(kinds, size, repetitions, notes);
		const medians = samples.map(each => median(each.map(one => one.cpuMs)));
		for (const [index, kind] of kinds.entries()) {
			// Each checkout's row is compared with this checkout's row of the same kind (two kinds per checkout).
			const same = medians[index % 2]!;
			rows.push({
				measure: `N=${size}: ${kind.label}`,
				value: `${((medians[index]! * 1000) / size).toFixed(1)} µs/host`,
				cpu: `controller CPU ${(medians[index]! / 1000).toFixed(3)} s`,
				ratio: index < 2 ? '' : `this checkout ${ratio(same / medians[index]!)} of it`,
			});
			notes.push(`N=${size} ${kind.label}: CPU ${samples[index]!.map(one => `${one.cpuMs.toFixed(0)} ms`).join(', ')}`);
		}
	}

	process.stdout.write(profileReport(`The controller's own work per host, without TLS — ${machine()}; parallel 256; medians of ${repetitions} interleaved rounds`, loadAtStart, rows, notes));
	return 0;
}

await runBench(main, log);
