/**
 * The built CLI's own cost, this checkout against another (BENCH_BASE=DIR, a built checkout with
 * its node_modules), runs interleaved: `xi-exec run uptime --on all` on N agents, each CLI with a
 * controller home of its own (the same agents and certificates; its own audit log and history),
 * and per run the CLI process's CPU (user + system of the reaped child), its peak RSS (VmHWM) and
 * wall time. Faster to repeat than `npm run bench`, for one change at a time.
 *
 *   nice -n 10 node --import=tsx bench/cli-cost.ts
 *
 * Settings: BENCH_SIZES (100), BENCH_REPS (5), BENCH_BASE=DIR, BENCH_WORKERS (4 host processes),
 * BENCH_PARALLEL (256), BENCH_UNREACHABLE=1 (no agents run: every address is 127.0.0.1:9, which
 * refuses at once; what the CLI holds per host without the TLS work, quick at 10,000),
 * BENCH_HEAP=1 (one more run of each CLI with V8's sampling heap profiler, freed objects kept: the
 * bytes allocated per host and the sites that allocate the most), BENCH_CPU_PROFILE=DIR (one more
 * run of each with `--cpu-prof` into DIR), BENCH_PERF_RECORD=DIR (one more run of each under
 * `perf record -N -g`, node's --perf-basic-prof: CPU time, where V8's profiler counts wall time).
 */
import {randomUUID} from 'node:crypto';
import {cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {openControllerRegistry, controllerPaths} from '../source/home.js';
import {runBench, trackPath} from './cleanup.js';
import {freePortBlock, loadAverage, machine} from './environment.js';
import {cachedFleet} from './fleet-cache.js';
import {agentName, controllerHomeWith, createFleet, script} from './fleet.js';
import {dealRoundRobin, repoRoot, startHosts, type Hosts} from './hosts.js';
import {interleavedRounds, profileReport} from './interleaved-rounds.js';
import {median, runTimed} from './processes.js';
import {mebibytes, seconds, type Row} from './table.js';

const log = (text: string) => process.stderr.write(`cli-cost: ${text}\n`);
const number = (name: string, fallback: number) => Number(process.env[name] || fallback);

type Sample = {ms: number; cpuMs: number; peakKiB: number; failure?: string};
type Side = {label: string; checkout: string; home: string};

/** Writes at exit the bytes the process allocated (freed or not) and its 12 busiest sites, as JSON, to XI_ALLOC_OUT. */
const samplerPreload = `
const {Session} = require('node:inspector');
const {writeFileSync} = require('node:fs');
const session = new Session(); session.connect();
session.post('HeapProfiler.enable');
session.post('HeapProfiler.startSampling', {samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true});
process.on('exit', () => session.post('HeapProfiler.stopSampling', (error, result) => {
	if (error) return;
	const sites = new Map(); let bytes = 0;
	const walk = node => { bytes += node.selfSize; const f = node.callFrame;
		const site = (f.functionName || '(anonymous)') + ' ' + (f.url.split('/').at(-1) || '(native)') + ':' + (f.lineNumber + 1);
		sites.set(site, (sites.get(site) || 0) + node.selfSize); node.children.forEach(walk); };
	walk(result.profile.head);
	writeFileSync(process.env.XI_ALLOC_OUT, JSON.stringify({bytes, sites: [...sites].sort((a, b) => b[1] - a[1]).slice(0, 12)}));
}));
`;

function cliArgs(side: Side, parallel: number): string[] {
	return [join(side.checkout, 'dist/source/cli.cjs'), 'run', script.name, '--on', 'all', '--parallel', String(parallel), '--home', side.home];
}

/** Written to XI_COST_OUT at exit: the process's CPU (process.cpuUsage: every thread, µs) and its peak RSS (VmHWM). */
const costPreload = `
process.on('exit', () => {
	const {user, system} = process.cpuUsage();
	const peak = /VmHWM:\\s+(\\d+)/.exec(require('node:fs').readFileSync('/proc/self/status', 'utf8'))[1];
	require('node:fs').writeFileSync(process.env.XI_COST_OUT, JSON.stringify({cpuMs: (user + system) / 1000, peakKiB: Number(peak)}));
});
`;

const scratch = trackPath(mkdtempSync(join(tmpdir(), 'xi-exec-cli-cost-')));
const preload = join(scratch, 'cost-preload.cjs');
writeFileSync(preload, costPreload);

/** `wrap`: a command the CLI's node runs under (perf record). */
async function cliSample(side: Side, parallel: number, expectOk: boolean, nodeFlags: readonly string[] = [], env: NodeJS.ProcessEnv = process.env, wrap: readonly string[] = []): Promise<Sample> {
	const out = join(scratch, `${randomUUID()}.json`);
	const [command, ...args] = [...wrap, process.execPath, '--require', preload, ...nodeFlags, ...cliArgs(side, parallel)];
	const finished = await runTimed(command!, args, {timeoutMs: 3_600_000, env: {...env, XI_COST_OUT: out}});
	const {cpuMs, peakKiB} = JSON.parse(readFileSync(out, 'utf8')) as {cpuMs: number; peakKiB: number};
	rmSync(out, {force: true});
	const summary = finished.stdout.trim().split('\n').at(-1) ?? '';
	const failed = expectOk ? finished.code !== 0 : !/unreachable/.test(summary);
	return {ms: finished.ms, cpuMs, peakKiB, ...(failed ? {failure: `exit ${finished.code}: ${summary.slice(0, 120)} ${finished.stderr.slice(0, 200)}`} : {})};
}

/** A home of `count` agents from the fleet cache, every address 127.0.0.1:9 (refused at once). */
async function unreachableHome(root: string, count: number): Promise<string> {
	const cached = await cachedFleet(count, agentName, log);
	const home = join(root, `controller-${count}-unreachable`);
	cpSync(cached.controllerHome, home, {recursive: true});
	const now = new Date().toISOString();
	await openControllerRegistry(controllerPaths(home)).update(registry => ({
		...registry,
		agents: cached.agents.map(minted => ({name: minted.name, address: '127.0.0.1:9', tags: {bench: 'yes'}, serial: minted.serial, fingerprint: minted.fingerprint, certificateIssued: minted.issued, certificateExpires: minted.expires, certificate: readFileSync(cached.certOf(minted.name), 'utf8'), pairedAt: now})),
	}));
	return home;
}

async function homes(root: string, size: number, unreachable: boolean): Promise<{home: string; hosts?: Hosts}> {
	if (unreachable) {
		return {home: await unreachableHome(root, size)};
	}

	const fleet = await createFleet(join(root, 'fleet'), size, await freePortBlock(size), log);
	const hosts = await startHosts('agent-host.ts', dealRoundRobin(fleet.agents.map(agent => agent.home), number('BENCH_WORKERS', 4)), root, {readyWithinMs: 600_000});
	return {home: await controllerHomeWith(fleet, root, size), hosts};
}

async function allocationNote(side: Side, size: number, parallel: number, root: string): Promise<string> {
	const preload = join(root, 'alloc-preload.cjs');
	writeFileSync(preload, samplerPreload);
	const out = join(root, `alloc-${side.label}.json`);
	await cliSample(side, parallel, false, ['--require', preload], {...process.env, XI_ALLOC_OUT: out});
	const {bytes, sites} = JSON.parse(readFileSync(out, 'utf8')) as {bytes: number; sites: Array<[string, number]>};
	return `N=${size} ${side.label}: allocated ${(bytes / size / 1024).toFixed(1)} KB/host (sampled, freed included); top: ${sites.map(([site, b]) => `${site} ${(b / size / 1024).toFixed(1)}`).join(', ')}`;
}

async function main(): Promise<number> {
	const sizes = (process.env['BENCH_SIZES'] || '100').split(',').map(Number);
	const reps = number('BENCH_REPS', 5);
	const parallel = number('BENCH_PARALLEL', 256);
	const unreachable = process.env['BENCH_UNREACHABLE'] === '1';
	const base = process.env['BENCH_BASE'];
	const loadAtStart = loadAverage();
	const rows: Row[] = [];
	const notes: string[] = [machine(), `uptime at start: ${loadAtStart}`];
	for (const size of sizes) {
		const root = trackPath(mkdtempSync(join(tmpdir(), 'xi-exec-cli-cost-')));
		log(`N=${size}: setting up ${unreachable ? 'an unreachable fleet' : 'agents'}`);
		const {home, hosts} = await homes(root, size, unreachable);
		const sides: Side[] = [{label: 'this checkout', checkout: repoRoot, home}];
		if (base) {
			const baseHome = join(root, 'controller-base');
			cpSync(home, baseHome, {recursive: true});
			sides.push({label: 'BENCH_BASE', checkout: base, home: baseHome});
		}

		try {
			log(`N=${size}: ${reps} rounds of ${sides.map(side => side.label).join(' / ')}, interleaved; load ${loadAverage()}`);
			const samples = await interleavedRounds(sides.map(side => ({label: side.label, run: async () => cliSample(side, parallel, !unreachable)})), size, reps, notes);
			for (const [index, side] of sides.entries()) {
				const of = samples[index]!;
				const cpu = median(of.map(sample => sample.cpuMs));
				const baseCpu = index > 0 ? undefined : samples[1] && median(samples[1].map(sample => sample.cpuMs));
				rows.push({measure: `N=${size}${unreachable ? ' unreachable' : ''}: CLI CPU per host, ${side.label}`, value: `${(cpu / size).toFixed(3)} ms`, ...(baseCpu ? {ratio: `${(cpu / baseCpu).toFixed(2)}× BENCH_BASE`} : {})});
				rows.push({measure: `N=${size}${unreachable ? ' unreachable' : ''}: CLI peak RSS, ${side.label}`, value: mebibytes(median(of.map(sample => sample.peakKiB)))});
				notes.push(`N=${size} ${side.label}: CPU ms ${of.map(sample => sample.cpuMs.toFixed(0)).join(', ')}; peak RSS MiB ${of.map(sample => (sample.peakKiB / 1024).toFixed(1)).join(', ')}; wall ${of.map(sample => seconds(sample.ms)).join(', ')}`);
			}

			if (process.env['BENCH_HEAP'] === '1') {
				for (const side of sides) {
					notes.push(await allocationNote(side, size, parallel, root));
				}
			}

			const perfData = process.env['BENCH_PERF_RECORD'];
			if (perfData) {
				for (const side of sides) {
					await cliSample(side, parallel, !unreachable, ['--perf-basic-prof', '--interpreted-frames-native-stack'], process.env, ['perf', 'record', '-N', '-F', '4999', '-g', '-o', join(perfData, `${side.label.replaceAll(' ', '-')}.data`), '--']);
				}
			}

			const profiles = process.env['BENCH_CPU_PROFILE'];
			if (profiles) {
				for (const side of sides) {
					await cliSample(side, parallel, !unreachable, ['--cpu-prof', '--cpu-prof-dir', join(profiles, side.label.replaceAll(' ', '-'))]);
				}
			}
		} finally {
			await hosts?.stop();
		}

		notes.push(`uptime after N=${size}: ${loadAverage()}`);
	}

	process.stdout.write(profileReport('The built CLI\'s own cost (bench/cli-cost.ts)', loadAtStart, rows, notes));
	return 0;
}

await runBench(main, log);
