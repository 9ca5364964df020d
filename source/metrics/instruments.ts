/**
 * What the controller's and the agent's Prometheus metrics (controller-metrics.ts,
 * agent/metrics/agent-metrics.ts) share: the run duration buckets, gauges read at each scrape,
 * and the table that turns one logged event into the counters it moves.
 */
import {Gauge, type Registry} from 'prom-client';

/** Seconds: a quick check to a half-hour job. */
export const runDurationBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800];

/** Whole days from `now` until `when` (negative once past). */
export function daysUntil(when: Date | number, now: Date): number {
	return Math.floor((new Date(when).getTime() - now.getTime()) / 86_400_000);
}

type GaugeConfig = {name: string; help: string; registers: Registry[]};

/** A gauge whose value is read at each scrape; `undefined` leaves the last value. */
export function scrapedGauge(config: GaugeConfig, read: () => number | undefined): void {
	new Gauge({
		...config,
		collect() {
			const value = read();
			if (value !== undefined) {
				this.set(value);
			}
		},
	});
}

/** A gauge with one label whose values are all read at each scrape (the ones gone since are dropped). */
export function scrapedLabelledGauge(config: GaugeConfig & {label: string}, read: () => Promise<Iterable<[string, number]>> | Iterable<[string, number]>): void {
	const {label, ...rest} = config;
	new Gauge({
		...rest,
		labelNames: [label],
		async collect() {
			this.reset();
			for (const [value, count] of await read()) {
				this.set({[label]: value}, count);
			}
		},
	});
}

/** What one event moves, by event name; an event with no entry moves nothing. */
export type EventTable<F> = Readonly<Record<string, (fields: F, event: string) => void>>;

export function observeWith<F>(table: EventTable<F>): (event: string, fields: F) => void {
	return (event, fields) => {
		if (Object.hasOwn(table, event)) {
			table[event]!(fields, event);
		}
	};
}
