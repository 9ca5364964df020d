/** How a run's counts read in one line, in the CLI, the progress line and the console. */
import {runStatuses} from '../protocol/frames.js';
import type {AgentPhase, Counts} from '../run/run-state.js';

const summaryOrder: AgentPhase[] = [...runStatuses, 'running', 'connecting', 'queued'];

/** `12 ok · 2 failed · 1 denied · 3 running` — statuses first, then what is still going on. */
export function formatSummary(counts: Counts): string {
	return summaryOrder.filter(phase => (counts[phase] ?? 0) > 0).map(phase => `${counts[phase]} ${phase}`).join(' · ');
}
