/**
 * The one-shot's anatomy (one-shot-steps.ts): `runs` fresh processes after one that fills the
 * description cache, each step's median, as rows under the one-shot rows, with the CLI's own median
 * beside their sum so that what the steps do not cover shows. Run on loopback and through the delaying proxies (a home whose registry points there).
 */
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {repoRoot} from './hosts.js';
import {firstLine, median, runTimed} from './processes.js';
import type {Report} from './report.js';
import {compileBench} from './rss.js';
import {script} from './fleet.js';

const stepNames = {
	processStart: 'process start (node until the first line runs)',
	moduleLoading: 'module loading (what run loads)',
	homeAndRegistry: 'home, registry, description cache reads, TLS context',
	auditRequest: 'request audit record + checkpoint (fsync)',
	earlyWait: 'wait for the early connection (handshake not hidden)',
	run: 'run exchange on it (request, output, result)',
	auditOutcomes: 'outcome audit record, log closed (fsync)',
	registryUpdate: 'registry lastSeen update (lock, fsync)',
	otherInRun: 'the rest of the run (history file, pruning)',
} as const;

type Steps = Record<keyof typeof stepNames | 'handshake' | 'total', number> & {ok: boolean; failure?: string; describedLive: boolean};

let compiled: string | undefined;

export async function measureOneShotSteps(report: Report, options: {label: string; home: string; agent: string; runs: number; directory: string; cliMedianMs?: number}): Promise<void> {
	compiled ??= compileBench(join(options.directory, 'one-shot-js'), ['one-shot-steps']);
	const input = join(options.directory, `one-shot-${options.label.replaceAll(/\W+/g, '-')}.json`);
	writeFileSync(input, JSON.stringify({repoRoot, home: options.home, agent: options.agent, script: script.name}));
	const samples: Steps[] = [];
	// Not counted: the first run describes the agent live and caches its description, as the CLI's first one-shot does.
	await runTimed(process.execPath, [compiled, input]);
	for (let run = 0; run < options.runs; run++) {
		const finished = await runTimed(process.execPath, [compiled, input]);
		const line = finished.stdout.trim().split('\n').at(-1) ?? '';
		if (finished.code !== 0 || !line.startsWith('{')) {
			report.notes.push(`one-shot steps (${options.label}), run ${run + 1}: exit ${finished.code}: ${firstLine(finished.stderr)}`);
			continue;
		}

		const steps = JSON.parse(line) as Steps;
		if (!steps.ok) {
			report.notes.push(`one-shot steps (${options.label}), run ${run + 1}: ${steps.failure ?? 'not ok'}`);
		}

		samples.push(steps);
	}

	if (samples.length === 0) {
		return;
	}

	const ms = (value: number) => `${value.toFixed(1)} ms`;
	const of = (step: keyof Steps) => median(samples.map(sample => sample[step] as number));
	const sum = Object.keys(stepNames).reduce((total, step) => total + of(step as keyof Steps), 0);
	report.rows.push(
		...Object.entries(stepNames).map(([step, name]) => ({measure: `  ${options.label} one-shot step: ${name}`, value: ms(of(step as keyof Steps))})),
		{measure: `  ${options.label} one-shot step: planned from the cached description`, value: `${samples.filter(sample => !sample.describedLive).length} of ${samples.length} runs`, ratio: 'else described live (a round trip)'},
		{
			measure: `  ${options.label} one-shot steps: sum; a bare mTLS handshake alone`,
			value: ms(sum),
			ratio: `${options.cliMedianMs === undefined ? '' : `${((sum / options.cliMedianMs) * 100).toFixed(0)}% of the CLI's time; `}handshake ${ms(of('handshake'))}`,
		},
	);
}
