/** The results table: one row per measurement, ratios beside the targets they are judged against. */
/** INVALID: some runs behind the number did not reach every target, so it is not judged. */
export type Verdict = 'met' | 'MISSED' | 'INVALID' | 'skipped';

export type Row = {measure: string; value: string; cpu?: string; ratio?: string; target?: string; verdict?: Verdict};

const headings = {measure: 'measure', value: 'median', cpu: 'CPU', ratio: 'ratio', target: 'target', verdict: 'met'};

export function formatTable(rows: readonly Row[]): string {
	const cells = (row: Row) => [row.measure, row.value, row.cpu ?? '', row.ratio ?? '', row.target ?? '', row.verdict ?? ''];
	const all = [Object.values(headings), ...rows.map(cells)];
	const widths = all[0]!.map((_, column) => Math.max(...all.map(line => line[column]!.length)));
	const line = (values: string[]) => values.map((value, column) => (column >= 1 && column <= 3 ? value.padStart(widths[column]!) : value.padEnd(widths[column]!))).join('  ').trimEnd();
	const rule = widths.map(width => '─'.repeat(width)).join('  ');
	return [line(all[0]!), rule, ...all.slice(1).map(line)].join('\n') + '\n';
}

export function seconds(ms: number): string {
	return `${(ms / 1000).toFixed(3)} s`;
}

export function mebibytes(kib: number): string {
	return `${(kib / 1024).toFixed(1)} MiB`;
}

/** A ratio to two places; "n/a" when the side it is taken against measured nothing (less than a clock tick of CPU on a tiny run). */
export function ratio(value: number): string {
	return Number.isFinite(value) ? `${value.toFixed(2)}×` : 'n/a';
}
