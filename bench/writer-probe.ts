/**
 * What the writer probe (agent/writer-check.ts) costs the agent's event loop: the old probe's exec
 * made on the loop (spawn() returns only once the child's exec has failed) against the probe thread
 * (agent/probe-thread.ts), on a real Python script nobody holds open for writing. Per probe: the
 * probe's own synchronous time on the loop (wall), the loop's delay around it (the largest delay a
 * 1 ms timer saw: on a loaded machine mostly the scheduler's, not the probe's),
 * the main thread's own CPU (/proc/self/task/PID/stat) and the whole process's (process.cpuUsage,
 * both threads; the children's exec is not in it); then the resident set once the thread runs.
 * Rounds interleaved, medians, the load average printed.
 *
 *   node --import=tsx bench/writer-probe.ts        BENCH_REPS (5) rounds of 40 probes each way
 */
import {spawn} from 'node:child_process';
import {chmodSync, closeSync, constants, openSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {monitorEventLoopDelay} from 'node:perf_hooks';
import {mkdtempSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {kernelProbe} from '../agent/writer-check.js';
import {loadAverage} from './environment.js';
import {median} from './processes.js';

const rounds = Number(process.env['BENCH_REPS'] ?? 5);
const probes = 40;
const oversized = 'x'.repeat((2 * 1024 * 1024) + 1);

/** The probe as it was before the thread: the same exec, made on the event loop. */
async function onLoop(fd: number): Promise<string | undefined> {
	return new Promise(resolve => {
		try {
			const child = spawn(`/proc/self/fd/${fd}`, [oversized], {stdio: 'ignore', env: {}, cwd: '/'});
			child.once('error', (error: NodeJS.ErrnoException) => resolve(error.code));
			child.once('spawn', () => {
				child.kill('SIGKILL');
				resolve(undefined);
			});
		} catch (error) {
			resolve((error as NodeJS.ErrnoException).code);
		}
	});
}

const ticks = 100;
function mainThreadCpuMs(): number {
	const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
	return (Number(fields[11]) + Number(fields[12])) * 1000 / ticks;
}

type Round = {syncMs: number; heldMaxMs: number; heldMedianMs: number; mainCpuMs: number; processCpuMs: number};

async function round(ask: () => Promise<unknown>): Promise<Round> {
	const maxima: number[] = [];
	const sync: number[] = [];
	let heldMax = 0;
	const cpu = process.cpuUsage();
	const main = mainThreadCpuMs();
	for (let index = 0; index < probes; index++) {
		const delay = monitorEventLoopDelay({resolution: 1});
		delay.enable();
		const ticker = setInterval(() => undefined, 1);
		await new Promise(resolve => setTimeout(resolve, 3));
		const start = performance.now();
		const asked = ask();
		sync.push(performance.now() - start);
		await asked;
		await new Promise(resolve => setTimeout(resolve, 3));
		clearInterval(ticker);
		delay.disable();
		maxima.push(delay.max / 1e6);
		heldMax = Math.max(heldMax, delay.max / 1e6);
	}

	const used = process.cpuUsage(cpu);
	return {syncMs: median(sync), heldMaxMs: heldMax, heldMedianMs: median(maxima), mainCpuMs: (mainThreadCpuMs() - main) / probes, processCpuMs: (used.user + used.system) / 1000 / probes};
}

const directory = mkdtempSync(join(tmpdir(), 'xi-exec-bench-probe-'));
const script = join(directory, 'script.py');
writeFileSync(script, '#!/usr/bin/python3\nprint("ran")\n');
chmodSync(script, 0o755);
const fd = openSync(script, constants.O_RDONLY);
const offLoop = kernelProbe({kind: 'direct'});
const rssBefore = process.memoryUsage().rss;
await offLoop(fd, script);
const rssThread = process.memoryUsage().rss - rssBefore;
const results: Record<string, Round[]> = {'on the loop (before)': [], 'probe thread (now)': []};
for (let index = 0; index < rounds; index++) {
	results['on the loop (before)']!.push(await round(async () => onLoop(fd)));
	results['probe thread (now)']!.push(await round(async () => offLoop(fd, script)));
}

closeSync(fd);
for (const [name, list] of Object.entries(results)) {
	const m = (key: keyof Round) => median(list.map(item => item[key])).toFixed(2);
	console.log(`${name}: the probe's own synchronous time on the loop, median ${m('syncMs')} ms; loop delay per probe median ${m('heldMedianMs')} ms (worst round's max ${m('heldMaxMs')} ms), main thread CPU ${m('mainCpuMs')} ms, process CPU ${m('processCpuMs')} ms; ${rounds}×${probes} probes, load ${loadAverage()}`);
}

console.log(`resident set added by starting the probe thread: ${(rssThread / 2 ** 20).toFixed(1)} MiB`);
