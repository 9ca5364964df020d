/** The parser's output, as prom2json gives it (the package ships no types). */
declare module 'parse-prometheus-text-format' {
	type Labels = Record<string, string>;
	type Sample = {value: string; labels?: Labels};
	type HistogramSample = {buckets: Record<string, string>; count: string; sum: string; labels?: Labels};
	export type MetricFamily = {name: string; help: string; type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED'; metrics: Array<Sample | HistogramSample>};
	export default function parsePrometheusTextFormat(text: string): MetricFamily[];
}
