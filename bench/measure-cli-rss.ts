/**
 * The built CLI's peak resident memory (VmHWM of the `xi-exec` process, sampled every 50 ms; not
 * this bench process's) on every agent at each size of 1,000 or more, beside two peers measured
 * in the same run: the same CLI on 10 agents, and a bare `node` that only waits. A run keeps
 * counts and the first failures of each outcome (run/run-summary.ts), not its hosts' results, so
 * what grows with N is what every run must hold: the registry it reads (each agent's record and
 * certificate), the connections in flight (--parallel) and their TLS state. Each large size runs
 * once (10,000 agents take minutes); the peers three times, their median. BENCH_CLI_BEFORE=PATH
 * (another build's dist/source/cli.js) also runs that CLI at each large size, right after ours,
 * on the same agents: a before and after in one run.
 */
import type {BenchFleet} from './fleet.js';
import {controllerHomeWith} from './fleet.js';
import {cliRun} from './ours.js';
import {median, runTimed} from './processes.js';
import type {Report} from './report.js';
import {mebibytes, ratio, seconds} from './table.js';

export type CliRssSettings = {sizes: readonly number[]; parallel: number; spawn: boolean};

export async function measureCliRss(report: Report, setup: {fleet: BenchFleet; root: string}, settings: CliRssSettings, log: (text: string) => void): Promise<void> {
	const sizes = settings.sizes.filter(size => size >= 1000);
	if (sizes.length === 0) {
		return;
	}

	const dry = settings.spawn ? '' : ' --dry-run';
	const before = process.env['BENCH_CLI_BEFORE'] || undefined;
	const run = async (home: string, count: number, entry?: string) => {
		const finished = await cliRun(home, 'all', settings.parallel, entry, {peakRss: true, timeoutMs: 3_600_000, dryRun: !settings.spawn});
		const summary = finished.stdout.trim().split('\n').at(-1) ?? '';
		report.notes.push(`cli-rss N=${count}${entry ? ` (${entry})` : ''}: ${seconds(finished.ms)}, exit ${finished.code}; ${finished.failure ?? summary}; peak RSS ${finished.peakRssKiB === undefined ? 'not read' : mebibytes(finished.peakRssKiB)}`);
		return finished;
	};

	log('peers of the CLI\'s peak RSS: a bare node, and the CLI on 10 agents, 3 runs each');
	const bare: number[] = [];
	const ten: number[] = [];
	const tenHome = await controllerHomeWith(setup.fleet, setup.root, 10);
	for (let attempt = 0; attempt < 3; attempt++) {
		bare.push((await runTimed(process.execPath, ['-e', 'setTimeout(() => undefined, 300)'], {peakRss: true})).peakRssKiB ?? Number.NaN);
		ten.push((await run(tenHome, 10)).peakRssKiB ?? Number.NaN);
	}

	const peers = {bare: median(bare), ten: median(ten)};
	report.rows.push(
		{measure: 'peak RSS: bare node (waits 0.3 s)', value: mebibytes(peers.bare)},
		{measure: `peak RSS: CLI run --on all${dry}, N=10`, value: mebibytes(peers.ten), ratio: `${ratio(peers.ten / peers.bare)} bare node`},
	);
	for (const size of sizes) {
		log(`the built CLI on all ${size} agents, once, its peak RSS sampled`);
		const home = size === setup.fleet.agents.length ? setup.fleet.controllerHome : await controllerHomeWith(setup.fleet, setup.root, size);
		const finished = await run(home, size);
		const peak = finished.peakRssKiB;
		report.rows.push({
			measure: `peak RSS: CLI run --on all${dry}, N=${size}`,
			value: peak === undefined ? 'not read' : mebibytes(peak),
			...(peak === undefined ? {} : {ratio: `${ratio(peak / peers.ten)} N=10, +${mebibytes(peak - peers.ten)}; ${ratio(peak / peers.bare)} bare node`}),
			...(finished.code === 0 ? {} : {verdict: 'INVALID' as const}),
		});
		if (before) {
			const earlier = (await run(home, size, before)).peakRssKiB;
			report.rows.push({
				measure: `peak RSS: BENCH_CLI_BEFORE, N=${size}`,
				value: earlier === undefined ? 'not read' : mebibytes(earlier),
				...(earlier === undefined || peak === undefined ? {} : {ratio: `ours ${ratio(peak / earlier)} of it`}),
			});
		}
	}
}
