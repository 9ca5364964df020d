/**
 * The console against the CLI on the same agents (6 and 40 of the bench fleet, /usr/bin/uptime):
 *
 *   - first output: from the confirming Enter to the first frame that shows a host's result, in
 *     the real console (Ink rendering into a terminal of 80×24 that counts what it is sent, keys
 *     typed into it, the real ConsoleCore); beside the same core's run with no screen (from the
 *     call to its first result) and `xi-exec run` (from spawn to its first line of output);
 *   - the console's own share of the first output: from the core telling the console its first
 *     result to the frame that shows it (a note per run);
 *   - terminal bytes per second during the run: what the console writes to the terminal (frames
 *     as the lines that changed, ui/line-diff.ts, on its frame clock) against what the CLI writes
 *     for the same run.
 *
 * Ink writes only the final frame when CI is set: with CI set, the console is not measured. React
 * and Ink are loaded in their production builds and render with the options `xi-exec` uses
 * (ui/start-console.tsx).
 * Run alone (a fleet of its own): node --import=tsx bench/console.ts
 */
import {EventEmitter} from 'node:events';
import {mkdtempSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {performance} from 'node:perf_hooks';
import {spawn} from 'node:child_process';
import {controllerPaths} from '../source/home.js';
import {lineDiffStream} from '../source/ui/line-diff.js';
import {Screen} from './console-screen.js';
import {createConsoleCore} from '../source/ui/console-core.js';
import {cleanUp, cleanUpOnSignals, trackChild, trackPath} from './cleanup.js';
import {freePortBlock, missingBuild} from './environment.js';
import {controllerHomeWith, createFleet, script, type BenchFleet} from './fleet.js';
import {dealRoundRobin, startHosts} from './hosts.js';
import {controllerCli} from './ours.js';
import {median} from './processes.js';
import {createReport, type Report} from './report.js';
import {formatTable, ratio, seconds} from './table.js';

/** A terminal of 80×24 that shows what it was sent (console-screen.ts) and counts every byte. */
class Terminal extends EventEmitter {
	readonly columns = 80;
	readonly rows = 24;
	readonly isTTY = true;
	bytes = 0;
	private readonly screen = new Screen(this.rows);
	get frame(): string {
		return this.screen.text();
	}

	write(chunk: string | Uint8Array): boolean {
		const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
		this.bytes += Buffer.byteLength(text);
		this.screen.write(text);
		return true;
	}
}

/** Keys typed into the console, as ink-testing-library's stdin hands them to Ink. */
class Keyboard extends EventEmitter {
	readonly isTTY = true;
	private data: string | null = null;
	type(keys: string): void {
		this.data = keys;
		this.emit('readable');
		this.emit('data', keys);
	}

	read(): string | null {
		const {data} = this;
		this.data = null;
		return data;
	}

	setRawMode(): void {}
	setEncoding(): void {}
	resume(): void {}
	pause(): void {}
	ref(): void {}
	unref(): void {}
}

async function until(what: string, check: () => boolean, last: () => string, limitMs = 60_000): Promise<void> {
	const deadline = performance.now() + limitMs;
	while (!check()) {
		if (performance.now() > deadline) {
			throw new Error(`the console did not show ${what} within ${limitMs / 1000} s; its last frame:\n${last()}`);
		}

		await new Promise(resolve => setTimeout(resolve, 2));
	}
}

/**
 * A host's result on screen: the summary line counts it at once, wherever the host's own line is
 * (with 40 hosts at 80×24, finished ok hosts sort below those still running, out of view).
 */
const shown = /(^|\n|· )\d+ (ok|failed|timeout|unreachable|denied|error)\b/;

type ConsoleRun = {firstMs: number; bytesPerSecond: number; runMs: number; resultToFrameMs: number};

/**
 * One run in the console on every agent of `home`: first output (ms after Enter), the part of it
 * from the core's first result to the frame showing it, and terminal bytes per second.
 */
async function consoleRun(home: string, hosts: number): Promise<ConsoleRun> {
	const {render, createElement, App, renderOptions} = await loadInk();
	const terminal = new Terminal();
	const keyboard = new Keyboard();
	const real = createConsoleCore(controllerPaths(home), {caller: 'bench@console', pairListen: {host: '127.0.0.1', port: 0}});
	let resultAt: number | undefined;
	const core: typeof real = {...real, run: (request, onEvent) => real.run(request, event => {
		if (event.type === 'agent-finished') {
			resultAt ??= performance.now();
		}

		onEvent(event);
	})};
	const instance = render(createElement(App, {core, title: 'xi-exec', refreshMs: 0}), {
		...renderOptions,
		stdout: lineDiffStream(terminal as unknown as NodeJS.WriteStream),
		stdin: keyboard as unknown as NodeJS.ReadStream,
		patchConsole: false,
	});
	const frame = () => terminal.frame;
	try {
		await until(`${hosts} reachable agents`, () => terminal.frame.includes(`${hosts} of ${hosts} agents`) && !terminal.frame.includes('checking'), frame);
		keyboard.type('r');
		await until('the script list', () => terminal.frame.includes(`${script.name}`) && terminal.frame.includes('pick one'), frame);
		keyboard.type('\r');
		await until('the arguments', () => terminal.frame.includes('arguments'), frame);
		keyboard.type('\r');
		await until('the confirmation', () => terminal.frame.includes(`on ${hosts} agents?`), frame);
		const bytesBefore = terminal.bytes;
		const started = performance.now();
		keyboard.type('\r');
		await until('a host\'s result', () => shown.test(terminal.frame), frame);
		const shownAt = performance.now();
		await until('the run finished', () => terminal.frame.includes('finished in'), frame);
		const runMs = performance.now() - started;
		return {firstMs: shownAt - started, runMs, resultToFrameMs: shownAt - (resultAt ?? Number.NaN), bytesPerSecond: (terminal.bytes - bytesBefore) / (runMs / 1000)};
	} finally {
		instance.unmount();
		instance.cleanup();
	}
}

/** The console's core with no screen: from the call to its first result. */
async function coreRun(home: string, targets: string[]): Promise<number> {
	const core = createConsoleCore(controllerPaths(home), {caller: 'bench@core', pairListen: {host: '127.0.0.1', port: 0}});
	const started = performance.now();
	let firstMs: number | undefined;
	await core.run({script: script.name, args: [], targets}, event => {
		if (event.type === 'agent-finished' && firstMs === undefined) {
			firstMs = performance.now() - started;
		}
	}).done;
	return firstMs ?? Number.NaN;
}

/** `xi-exec run --on all` on the same agents (the home holds just them): spawn to its first line of output, and its bytes per second. */
async function cliRun(home: string): Promise<{firstMs: number; bytesPerSecond: number}> {
	const started = performance.now();
	const child = trackChild(spawn(process.execPath, [controllerCli, 'run', script.name, '--on', 'all', '--home', home], {stdio: ['ignore', 'pipe', 'pipe'], env: {...process.env, NO_COLOR: '1'}}));
	let firstMs: number | undefined;
	let bytes = 0;
	const count = (chunk: Buffer) => {
		bytes += chunk.length;
		firstMs ??= performance.now() - started;
	};

	child.stdout!.on('data', count);
	child.stderr!.on('data', (chunk: Buffer) => {
		bytes += chunk.length;
	});
	await new Promise(resolve => child.once('close', resolve));
	return {firstMs: firstMs ?? Number.NaN, bytesPerSecond: bytes / ((performance.now() - started) / 1000)};
}

export async function measureConsole(report: Report, options: {fleet: BenchFleet; root: string; runs: number; sizes?: number[]}, log: (text: string) => void): Promise<void> {
	if (process.env['CI']) {
		report.notes.push('console: not measured (CI is set: Ink then writes only the final frame)');
		return;
	}

	for (const size of (options.sizes ?? [6, 40]).filter(count => count <= options.fleet.agents.length)) {
		const home = await controllerHomeWith(options.fleet, options.root, size);
		const targets = options.fleet.agents.slice(0, size).map(agent => agent.name);
		log(`console vs core vs CLI, ${size} hosts, ${options.runs} runs each`);
		const consoleRuns = [];
		const coreRuns = [];
		const cliRuns = [];
		for (let run = 0; run < options.runs; run++) {
			consoleRuns.push(await consoleRun(home, size));
			coreRuns.push(await coreRun(home, targets));
			cliRuns.push(await cliRun(home));
		}

		const first = median(consoleRuns.map(run => run.firstMs));
		const core = median(coreRuns);
		const cli = median(cliRuns.map(run => run.firstMs));
		const consoleBytes = median(consoleRuns.map(run => run.bytesPerSecond));
		const cliBytes = median(cliRuns.map(run => run.bytesPerSecond));
		report.rows.push(
			{measure: `console: first output, ${size} hosts`, value: seconds(first), ratio: `${ratio(first / core)} the core alone (${seconds(core)}); ${ratio(first / cli)} the CLI from spawn (${seconds(cli)})`, ...(size === 40 ? {target: '≤ 1 s', verdict: first <= 1000 ? 'met' as const : 'MISSED' as const} : {})},
			{measure: `console: terminal bytes/s, ${size} hosts`, value: `${Math.round(consoleBytes)} B/s`, ratio: `${ratio(consoleBytes / cliBytes)} the CLI's ${Math.round(cliBytes)} B/s`},
		);
		report.notes.push(`console ${size} hosts: first output (ms) ${consoleRuns.map(run => Math.round(run.firstMs)).join(', ')}, of which the core's first result to its frame ${consoleRuns.map(run => Math.round(run.resultToFrameMs)).join(', ')}; core ${coreRuns.map(Math.round).join(', ')}; CLI ${cliRuns.map(run => Math.round(run.firstMs)).join(', ')}; console run ${consoleRuns.map(run => Math.round(run.runMs)).join(', ')} ms`);
	}
}

/** React, Ink and the console as `xi-exec` loads them: production builds, the same render options. */
async function loadInk() {
	process.env['NODE_ENV'] ??= 'production';
	const [{render}, {createElement}, {App}, {renderOptions}] = await Promise.all([import('ink'), import('react'), import('../source/ui/app.js'), import('../source/ui/start-console.js')]);
	return {render, createElement, App, renderOptions};
}

async function alone(): Promise<number> {
	const unbuilt = missingBuild();
	if (unbuilt) {
		process.stderr.write(`bench: ${unbuilt}\n`);
		return 2;
	}

	const root = trackPath(mkdtempSync(join(tmpdir(), 'xi-exec-bench-console-')));
	const fleet = await createFleet(root, 40, await freePortBlock(40));
	const hosts = await startHosts('agent-host.ts', dealRoundRobin(fleet.agents.map(agent => agent.home), 2), root);
	try {
		const report = createReport();
		await measureConsole(report, {fleet, root, runs: Number(process.env['BENCH_REPS'] ?? 3)}, text => process.stderr.write(`bench: ${text}\n`));
		process.stdout.write(`${formatTable(report.rows)}\n${report.notes.map(note => `  ${note}`).join('\n')}\n`);
		return 0;
	} finally {
		await hosts.stop();
	}
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\/bench\//, '/bench/'))) {
	cleanUpOnSignals();
	const status = await alone().finally(cleanUp);
	process.exit(status);
}
