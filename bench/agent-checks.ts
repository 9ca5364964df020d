/**
 * What an agent's per-run file checks cost, alone: the walk to the script and its check
 * (open-executable.ts openExecutable, as the execution boundary calls it each run, the descriptors
 * closed again) and the home's strict-modes check (home-modes.ts currentHomeProblem, before every
 * run), on a bench agent's home and /usr/bin/uptime; and the four lines a run logs (log-line.ts formatLogLine,
 * formatted, not written). CPU (process.cpuUsage) and bytes allocated
 * (V8's sampling heap profiler, freed objects counted: heap-sample.ts) per call, for this checkout
 * and each BENCH_BASE one, each from its own dist/ (what a real agent runs: `npm run build` first),
 * rounds interleaved, medians.
 *
 *   BENCH_BASE=DIR[,DIR] nice -n 10 node --import=tsx bench/agent-checks.ts     BENCH_REPS (11) rounds of BENCH_CALLS (2000)
 */
import {mkdtempSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {staleDist} from './built-host.js';
import {runBench, trackPath} from './cleanup.js';
import {loadAverage, machine} from './environment.js';
import {createFleet, script} from './fleet.js';
import {startAllocationSampling} from './heap-sample.js';
import {median} from './processes.js';

const log = (text: string) => process.stderr.write(`agent-checks: ${text}\n`);

type Check = {label: string; call: () => void};

/** The lines a run logs (execute-run.ts), with the fields a run's lines carry. */
const logged = {requestId: '7f1d2c3b-1111-4222-8333-444455556666', agent: 'agent-0001', script: 'uptime', args: [], argsHash: 'a'.repeat(64), caller: 'bench@host', source: '127.0.0.1:54321', controllerSerial: '0a1b2c3d4e5f'};
const runLogLines: Array<[string, Record<string, unknown>]> = [
	['request.received', logged],
	['decision', {...logged, allowed: true, reason: 'allowlisted; no auth hook configured'}],
	['run.start', logged],
	['run.finish', {...logged, status: 'ok', exitCode: 0, signal: null, durationMs: 2, bytes: {stdout: 60, stderr: 0}, truncated: false, reason: undefined, cancelledBy: undefined}],
];

async function checksOf(checkout: string, home: string): Promise<Check[]> {
	const stale = staleDist(checkout);
	if (stale) {
		throw new Error(`${join(checkout, 'dist')} is older than ${stale}: run \`npm run build\` in ${checkout} first`);
	}

	const built = (file: string) => join(checkout, 'dist', file);
	const {openExecutable} = await import(built('agent/open-executable.js')) as typeof import('../agent/open-executable.js');
	const {currentHomeProblem} = await import(built('agent/home-modes.js')) as typeof import('../agent/home-modes.js');
	const {agentPaths} = await import(built('agent/home.js')) as typeof import('../agent/home.js');
	const {ownersFor} = await import(built('agent/owners.js')) as typeof import('../agent/owners.js');
	const {formatLogLine} = await import(built('agent/log-line.js')) as typeof import('../agent/log-line.js');
	const owners = ownersFor(undefined);
	if (typeof owners === 'string') {
		throw new TypeError(owners);
	}

	const paths = agentPaths(home);
	return [
		{label: `walk and check of ${script.path}`, call() {
			const checked = openExecutable(script.path, owners);
			if (!checked.ok) {
				throw new Error(checked.reason);
			}

			checked.executable.close();
		}},
		{label: 'home check', call() {
			if (currentHomeProblem(paths) !== undefined) {
				throw new Error('the home is unsafe');
			}
		}},
		{label: 'the four log lines of a run (formatLogLine)', call() {
			const now = new Date();
			let length = 0;
			for (const [event, fields] of runLogLines) {
				length += formatLogLine(event, fields, now).length;
			}

			if (length === 0) {
				throw new Error('no log lines');
			}
		}},
	];
}

async function main(): Promise<number> {
	const calls = Number(process.env['BENCH_CALLS'] ?? 2000);
	const rounds = Number(process.env['BENCH_REPS'] ?? 11);
	const checkouts = [process.cwd(), ...(process.env['BENCH_BASE']?.split(',').filter(Boolean) ?? [])];
	const root = trackPath(mkdtempSync(join(tmpdir(), 'xi-exec-agent-checks-')));
	const fleet = await createFleet(join(root, 'fleet'), 1, 1, log);
	const kinds = await Promise.all(checkouts.map(async checkout => ({checkout, checks: await checksOf(checkout, fleet.agents[0]!.home)})));
	const samples = kinds.map(kind => kind.checks.map(() => ({cpu: [] as number[], bytes: [] as number[]})));
	const load = loadAverage();
	for (const kind of kinds) {
		for (const check of kind.checks) {
			for (let call = 0; call < calls; call++) {
				check.call();
			}
		}
	}

	for (let round = 0; round < rounds; round++) {
		for (const [index, kind] of kinds.entries()) {
			for (const [which, check] of kind.checks.entries()) {
				const stop = await startAllocationSampling(512);
				const before = process.cpuUsage();
				for (let call = 0; call < calls; call++) {
					check.call();
				}

				const used = process.cpuUsage(before);
				const {bytes} = await stop();
				samples[index]![which]!.cpu.push((used.user + used.system) / calls);
				samples[index]![which]!.bytes.push(bytes / calls);
			}
		}
	}

	process.stdout.write(`Agent per-run checks — ${machine()}; ${rounds} interleaved rounds of ${calls} calls; load ${load} at start, ${loadAverage()} at end\n`);
	for (const [index, kind] of kinds.entries()) {
		for (const [which, check] of kind.checks.entries()) {
			const {cpu, bytes} = samples[index]![which]!;
			const against = index === 0 ? '' : `; this checkout's median CPU ${(median(samples[0]![which]!.cpu) / median(cpu)).toFixed(3)}×, bytes ${(median(samples[0]![which]!.bytes) / median(bytes)).toFixed(3)}× of it`;
			process.stdout.write(`  ${kind.checkout}, ${check.label}: median ${median(cpu).toFixed(1)} µs CPU, ${median(bytes).toFixed(0)} B allocated per call${against}\n`);
		}
	}

	return 0;
}

await runBench(main, log);
