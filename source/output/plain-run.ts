/**
 * The plain CLI's view of a run: every output line prefixed by its agent's name as it arrives
 * (partial lines wait for their newline), one status line per agent as it finishes (then its
 * notes, `NAME ~ note`: what happened on the way, such as a relay gap recovered), then the
 * summary. Everything from an agent is made visible first. It keeps no host's result: the summary
 * is counts and the three slowest hosts, kept as they finish (only --group holds every result, each
 * distinct output once, to group them at the end).
 */
import type {RunEvent} from '../run/events.js';
import {formatSummary} from './run-summary.js';
import type {AgentResult} from '../run/events.js';
import {visible} from './visible.js';
import {groupResults} from '../run/group-output.js';
import {createOutputSharing} from '../run/shared-outputs.js';
import {createSummaryKeeper} from '../run/run-summary.js';

export function createPlainRunPrinter(write: (text: string) => void, options: {nameWidth: number; group?: boolean}) {
	const partial = new Map<string, string>();
	// --group only: every result, identical outputs held once.
	const results: AgentResult[] = [];
	const outputs = createOutputSharing();
	const summary = createSummaryKeeper();
	const slowest = keepSlowest(3);
	const pad = (name: string) => name.padEnd(options.nameWidth);

	const flushLines = (agent: string, stream: 'stdout' | 'stderr', text: string, final: boolean) => {
		const key = `${agent}\0${stream}`;
		const lines = ((partial.get(key) ?? '') + text).split('\n');
		const rest = lines.pop() ?? '';
		partial.set(key, final ? '' : rest);
		if (final && rest.length > 0) {
			lines.push(rest);
		}

		const marker = stream === 'stderr' ? '!' : '|';
		for (const line of lines) {
			write(`${pad(agent)} ${marker} ${visible(line)}\n`);
		}
	};

	return {
		onEvent(event: RunEvent): void {
			if (options.group) {
				if (event.type === 'agent-finished') {
					results.push(outputs.share(event.result));
					summary.add(event.result);
				} else if (event.type === 'run-finished') {
					printGroups(write, results);
					write(`${formatSummary(summary.summary().counts)}   request ${event.requestId}\n`);
				}

				return;
			}

			if (event.type === 'agent-output') {
				flushLines(event.agent, event.stream, event.data, false);
			} else if (event.type === 'agent-finished') {
				const {result} = event;
				flushLines(result.agent, 'stdout', '', true);
				flushLines(result.agent, 'stderr', '', true);
				summary.add(result);
				slowest.add(result);
				write(`${pad(result.agent)} = ${describeResult(result)}\n`);
				for (const note of result.notes ?? []) {
					write(`${pad(result.agent)} ~ ${visible(note)}\n`);
				}
			} else if (event.type === 'run-finished') {
				const line = slowest.line();
				write(`${line === undefined ? '' : `${line}\n`}${formatSummary(summary.summary().counts)}   request ${event.requestId}\n`);
			}
		},
	};
}

/** --group: hosts with identical output and exit code once, names folded; the largest group first. */
function printGroups(write: (text: string) => void, results: readonly AgentResult[]): void {
	for (const group of groupResults(results)) {
		const first = results.find(result => result.agent === group.agents[0])!;
		write(`${visible(group.folded)} (${group.agents.length}) = ${describeResult({...first, durationMs: 0})}\n`);
		for (const line of group.stdout === '' ? [] : group.stdout.split('\n')) {
			write(`  | ${visible(line)}\n`);
		}

		for (const line of group.stderr === '' ? [] : group.stderr.split('\n')) {
			write(`  ! ${visible(line)}\n`);
		}
	}
}

export function describeResult(result: AgentResult): string {
	const parts: string[] = [result.status];
	if (result.status === 'failed' && result.exitCode !== null) {
		parts[0] = `failed (exit ${result.exitCode})`;
	}

	if (result.reason && result.status !== 'failed') {
		parts.push(visible(result.reason));
	}

	if (result.truncated) {
		parts.push('output truncated at the agent\'s cap');
	}

	return parts.join(': ') + (result.durationMs > 0 ? ` (${formatDuration(result.durationMs)})` : '');
}

export function formatDuration(ms: number): string {
	return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

type Timed = {agent: string; durationMs: number};

const slower = (a: Timed, b: Timed) => b.durationMs - a.durationMs || a.agent.localeCompare(b.agent);

/** The `count` hosts that took longest, kept as hosts finish (never more than `count` of them). */
export function keepSlowest(count: number): {add: (result: Timed) => void; line: () => string | undefined} {
	const kept: Timed[] = [];
	let timed = 0;
	return {
		add({agent, durationMs}) {
			if (durationMs <= 0) {
				return;
			}

			timed++;
			kept.push({agent, durationMs});
			kept.sort(slower);
			kept.length = Math.min(kept.length, count);
		},
		line: () => (timed < 2 ? undefined : slowestText(kept)),
	};
}

/** `slowest: web12 8.1 s, web03 7.9 s, db1 7.5 s` — the hosts that took longest, at the end of a run of two or more. */
export function slowestLine(results: readonly Timed[], count = 3): string | undefined {
	const slowest = keepSlowest(count);
	for (const result of results) {
		slowest.add(result);
	}

	return slowest.line();
}

function slowestText(slowest: readonly Timed[]): string {
	return `slowest: ${slowest.map(result => `${result.agent} ${formatDuration(result.durationMs)}`).join(', ')}`;
}
