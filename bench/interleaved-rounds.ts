/**
 * Rounds of samples, one per kind each round, in an order no kind always shares: each round starts
 * with the next kind, and every other round goes backwards. What the last run left to collect is
 * collected before each one (with --expose-gc), not charged to it. A sample's failure becomes a
 * note. The profile benches (fan-out, relay) compare their kinds this way.
 */
import {loadAverage} from './environment.js';
import {sleep} from './processes.js';
import {formatTable, type Row} from './table.js';

export type RoundKind<S> = {label: string; run: (size: number) => Promise<S>};

/** `samples[k]` holds kind k's samples of `rounds` rounds at `size`. */
export async function interleavedRounds<S extends {failure?: string}>(kinds: ReadonlyArray<RoundKind<S>>, size: number, rounds: number, notes: string[]): Promise<S[][]> {
	const samples = kinds.map((): S[] => []);
	for (let round = 0; round < rounds; round++) {
		const order = kinds.map((_, step) => (round + step) % kinds.length);
		for (const index of round % 2 === 0 ? order : order.reverse()) {
			(globalThis as {gc?: () => void}).gc?.();
			await sleep(200);
			const sample = await kinds[index]!.run(size);
			if (sample.failure) {
				notes.push(`N=${size} ${kinds[index]!.label}, round ${round + 1}: ${sample.failure}`);
			}

			samples[index]!.push(sample);
		}
	}

	return samples;
}

/** A profile bench's report: its heading, the load average then and now, the table, the notes. */
export function profileReport(heading: string, loadAtStart: string, rows: readonly Row[], notes: readonly string[]): string {
	return ['', heading, `load average at start ${loadAtStart}, at end ${loadAverage()}`, '', formatTable(rows), 'Notes:', ...notes.map(note => `  ${note}`), ''].join('\n');
}
