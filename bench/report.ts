/**
 * What the bench found, gathered as it goes: table rows, and notes (every run's numbers, every
 * failure). A target measured on runs where some targets failed is not judged: it is INVALID.
 */
import {reapedChildrenCpuMs} from './hosts.js';
import {median, sleep} from './processes.js';
import {seconds, type Row, type Verdict} from './table.js';

export type Report = {rows: Row[]; notes: string[]};

export function createReport(): Report {
	return {rows: [], notes: []};
}

export type Measured = {median: number; samples: number[]; failedRuns: number; cpu?: number};

export type Attempt = {ms: number; cpu?: number; failure?: string; warning?: string};

/** Runs `measure` `times` times; a run that did not reach every target is noted and counted. */
export async function repeat(report: Report, label: string, times: number, measure: () => Promise<Attempt>): Promise<Measured> {
	const samples: number[] = [];
	const cpus: number[] = [];
	let failedRuns = 0;
	const warnings = new Set<string>();
	for (let run = 0; run < times; run++) {
		const {ms, cpu, failure, warning} = await measure();
		samples.push(ms);
		if (cpu !== undefined) {
			cpus.push(cpu);
		}

		if (warning && !warnings.has(warning)) {
			warnings.add(warning);
			report.notes.push(`${label}, run ${run + 1}: ${warning}`);
		}

		if (failure) {
			failedRuns++;
			report.notes.push(`${label}, run ${run + 1}: ${failure}`);
		}
	}

	report.notes.push(`${label}: ${samples.map(ms => seconds(ms)).join(', ')}${cpus.length > 0 ? `; CPU ${cpus.map(ms => seconds(ms)).join(', ')}` : ''}`);
	return {median: median(samples), samples, failedRuns, ...(cpus.length > 0 ? {cpu: median(cpus)} : {})};
}

/**
 * Runs each of `measures` once per round, `times` rounds (interleaved, so a change in the machine's
 * load falls on all of them alike), and returns each one's Measured, in order.
 */
export async function alternate(report: Report, times: number, measures: ReadonlyArray<{label: string; measure: () => Promise<Attempt>}>): Promise<Measured[]> {
	const attempts = measures.map(() => [] as Attempt[]);
	for (let run = 0; run < times; run++) {
		for (const [index, {measure}] of measures.entries()) {
			attempts[index]!.push(await measure());
		}
	}

	return Promise.all(measures.map(({label}, index) => {
		const queue = [...attempts[index]!];
		return repeat(report, label, times, async () => queue.shift()!);
	}));
}

/**
 * Measures `run` with the CPU it cost: children of this process reaped meanwhile (the command run)
 * plus the servers it talked to (agent hosts, sshd with its sessions).
 */
export async function withCpu<T extends Attempt>(servers: () => number, run: () => Promise<T>): Promise<T> {
	const before = reapedChildrenCpuMs() + servers();
	const attempt = await run();
	await sleep(200); // let the servers reap what they started (sshd its sessions) before reading
	return {...attempt, cpu: reapedChildrenCpuMs() + servers() - before};
}

export function verdict(met: boolean, ...measured: Array<{failedRuns: number}>): Verdict {
	if (measured.some(item => item.failedRuns > 0)) {
		return 'INVALID';
	}

	return met ? 'met' : 'MISSED';
}
