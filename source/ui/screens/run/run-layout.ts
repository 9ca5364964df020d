/**
 * Where a run's hosts go on the screen. Hosts are ordered by outcome — what needs the operator
 * first (failed, timeout, unreachable, denied, error), then cancelled and skipped, then those
 * still going, then ok — and by name within an outcome. With room for a pane of at least
 * `minPaneRows` per host, a grid of panes (several columns from 120 columns on); otherwise one
 * line per host (in columns too) with the selected host's pane below. Pure.
 */
import type {AgentPhase, AgentRunState, RunState} from '../../../run/run-state.js';
import {foldNames} from '../../../run/group-output.js';
import {byName} from '../../name-order.js';

const rank: Record<AgentPhase, number> = {failed: 0, timeout: 1, unreachable: 2, denied: 3, error: 4, cancelled: 5, skipped: 6, running: 7, connecting: 8, queued: 9, ok: 10};

/** Needs a look: listed by name in the summary. */
export const troublePhases: readonly AgentPhase[] = ['failed', 'timeout', 'unreachable', 'denied', 'error', 'cancelled'];


export function outcomeOrder(run: RunState): AgentRunState[] {
	return run.order.map(name => run.agents[name]!).sort((a, b) => rank[a.phase] - rank[b.phase] || byName(a.name, b.name));
}

/** `failed web[1-4,7] · unreachable db2`: the hosts in trouble by outcome, names folded; empty when none. */
export function troubleSummary(run: RunState): string {
	return troublePhases.map(phase => {
		const names = run.order.filter(name => run.agents[name]!.phase === phase);
		return names.length === 0 ? '' : `${phase} ${foldNames(names)}`;
	}).filter(Boolean).join(' · ');
}

export const minPaneRows = 5;
export const minColumnWidth = 40;

export type RunLayout =
	| {kind: 'grid'; columns: number; columnWidth: number; paneRows: number}
	/** One line per host in `columns` columns of `listRows` lines; the selected pane takes `paneRows`. */
	| {kind: 'list'; columns: number; columnWidth: number; listRows: number; paneRows: number};

/** Several columns only from 120 columns on: at 80 a pane keeps the whole width for output. */
export function columnsFor(width: number): number {
	return width < 120 ? 1 : Math.max(1, Math.floor(width / minColumnWidth));
}

export function runLayout(hosts: number, width: number, height: number): RunLayout {
	const columns = Math.min(columnsFor(width), Math.max(1, hosts));
	const columnWidth = Math.floor(width / columns);
	const rowsOfPanes = Math.ceil(hosts / columns);
	if (hosts > 0 && Math.floor(height / rowsOfPanes) >= minPaneRows) {
		return {kind: 'grid', columns, columnWidth, paneRows: Math.floor(height / rowsOfPanes)};
	}

	const listColumns = columnsFor(width);
	// The list takes what it needs, up to all but a pane of `minPaneRows + 2` (at least half the
	// height); the selected host's pane the rest.
	const listRows = Math.max(1, Math.min(Math.ceil(hosts / listColumns), Math.max(Math.floor(height / 2), height - minPaneRows - 2)));
	return {kind: 'list', columns: listColumns, columnWidth: Math.floor(width / listColumns), listRows, paneRows: Math.max(3, height - listRows)};
}

/**
 * The slice of a list shown, keeping the selected entry in view: a window of `capacity` lines, a
 * line of which goes to "N more" at an end where something is cut. The list is cut into pages
 * that follow one another (the first and last have one "more" line, those between two), and the
 * window is the selected entry's page: moving a page at a time (PgDn) shows every entry once.
 */
export function listWindow(count: number, selected: number, capacity: number): {start: number; end: number; above: number; below: number} {
	if (count <= capacity) {
		return {start: 0, end: count, above: 0, below: 0};
	}

	const room = Math.max(1, capacity - 1);
	if (selected < room) {
		return {start: 0, end: room, above: 0, below: count - room};
	}

	// Pages between the ends: two lines for the counts.
	const middle = Math.max(1, capacity - 2);
	const start = room + (Math.floor((selected - room) / middle) * middle);
	if (start + middle >= count) {
		// The last page: one count line, so it shows a little of the page before it.
		return {start: count - room, end: count, above: count - room, below: 0};
	}

	return {start, end: start + middle, above: start, below: count - start - middle};
}
