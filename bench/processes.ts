/** Running commands for the bench: timed runs to completion, and small statistics. */
import {spawn} from 'node:child_process';
import {readFileSync} from 'node:fs';
import {performance} from 'node:perf_hooks';
import {trackChild} from './cleanup.js';

export type Finished = {code: number | null; signal: string | null; stdout: string; stderr: string; ms: number; peakRssKiB?: number};

/** The process's peak resident memory so far (VmHWM), in KiB; undefined once it is gone. */
function peakRss(pid: number | undefined): number | undefined {
	try {
		// A process that has exited but not been reaped has a status without VmHWM.
		const kib = /^VmHWM:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
		return kib === undefined ? undefined : Number(kib);
	} catch {
		return undefined;
	}
}

/**
 * Runs a command to its end, its output captured; `ms` is the wall time from spawn to exit. With
 * `peakRss`, its VmHWM read every 50 ms while it runs (the last reading before exit: a lower bound).
 */
export function runTimed(command: string, args: readonly string[], options: {env?: NodeJS.ProcessEnv; timeoutMs?: number; peakRss?: boolean} = {}): Promise<Finished> {
	return new Promise(resolve => {
		const started = performance.now();
		const child = trackChild(spawn(command, [...args], {env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe']}));
		let peak: number | undefined;
		const sampler = options.peakRss ? setInterval(() => {
			peak = peakRss(child.pid) ?? peak;
		}, 50) : undefined;
		let stdout = '';
		let stderr = '';
		child.stdout!.on('data', (chunk: Buffer) => {
			stdout += chunk.toString();
		});
		child.stderr!.on('data', (chunk: Buffer) => {
			stderr += chunk.toString();
		});
		const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
		child.on('error', error => {
			stderr += error.message;
		});
		child.on('close', (code, signal) => {
			clearTimeout(timer);
			clearInterval(sampler);
			resolve({code, signal, stdout, stderr, ms: performance.now() - started, ...(peak === undefined ? {} : {peakRssKiB: peak})});
		});
	});
}

export function median(values: readonly number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	const middle = Math.floor(sorted.length / 2);
	return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function sleep(ms: number): Promise<void> {
	return new Promise(resolve => setTimeout(resolve, ms));
}

/** The first line of a failed command's stderr, for a table cell or a note. */
export function firstLine(text: string): string {
	return text.trim().split('\n')[0]?.slice(0, 160) ?? '';
}
