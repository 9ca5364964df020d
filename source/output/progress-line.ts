/**
 * The live progress line `xi-exec run` keeps on stderr when it is a terminal:
 *
 *   37/120 done · 35 ok · 2 failed · 8 running · 75 queued · 12.4 s · ETA ~30 s
 *
 * ETA: the hosts not yet done, in waves of the rollout's window (--parallel, --batch), each wave
 * as long as the mean duration of the hosts done so far; none until one host is done. Pure.
 */
import {countPhases, type RunState} from '../run/run-state.js';
import {formatSummary} from './run-summary.js';
import {runStatuses} from '../protocol/frames.js';

export function progressLine(state: RunState, options: {elapsedMs: number; window: number; columns?: number}): string {
	const results = state.order.map(name => state.agents[name]!).filter(agent => (runStatuses as readonly string[]).includes(agent.phase));
	const total = state.order.length;
	const parts = [`${results.length}/${total} done`];
	const summary = formatSummary(countPhases(state));
	if (summary !== '') {
		parts.push(summary);
	}

	parts.push(formatSeconds(options.elapsedMs));
	const durations = results.map(agent => agent.result?.durationMs ?? 0);
	if (durations.length > 0 && results.length < total) {
		const mean = durations.reduce((sum, ms) => sum + ms, 0) / durations.length;
		const waves = Math.ceil((total - results.length) / Math.max(1, options.window));
		parts.push(`ETA ~${formatSeconds(waves * mean)}`);
	}

	const line = parts.join(' · ');
	// A line longer than the terminal wraps, and a carriage return would then clear only its last row.
	return options.columns !== undefined && line.length > options.columns - 1 ? `${line.slice(0, Math.max(0, options.columns - 2))}…` : line;
}

function formatSeconds(ms: number): string {
	return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}
