/**
 * The controller's Prometheus metrics (prom-client), folded from the audit records every
 * controller process writes (audit-tail.ts) plus what is read at each scrape. Label values are
 * only names the operator chose (script, agent), fixed words (status, outcome) and error codes:
 * never arguments, callers, tokens or free text.
 *
 *   xi_exec_runs_total{script}                         runs requested (dry runs excluded)
 *   xi_exec_host_results_total{script,status}          each host's outcome (ok, failed, timeout, unreachable, ...)
 *   xi_exec_host_run_duration_seconds{agent}           histogram of each host's run duration (hosts that ran)
 *   xi_exec_unreachable_total{agent}                   hosts that could not be reached for a run
 *   xi_exec_denials_total{reason}                      runs refused (reason: the error code) and policy denials (reason: policy)
 *   xi_exec_pairings_total{outcome}                    pairing ceremonies: paired, refused, wrong-code
 *   xi_exec_audit_records_total                        audit records written by the controller
 *   xi_exec_certificate_expiry_days{agent}             days until each agent's certificate expires (read at scrape)
 *   xi_exec_syslog_spool_records                       records waiting in the syslog spool (read at scrape)
 *   xi_exec_syslog_dropped_total{reason}               records the syslog spool dropped, by reason (read at scrape)
 *   xi_exec_tls_handshake_failures_total{reason}       REST API handshakes that failed, by OpenSSL/Node error code
 */
import {Counter, Histogram, Registry} from 'prom-client';
import type {AuditRecord} from '../audit/record.js';
import {daysUntil, observeWith, runDurationBuckets, scrapedGauge, scrapedLabelledGauge, type EventTable} from './instruments.js';

export type ScrapeFacts = {
	agents: () => Promise<Array<{name: string; certificateExpires: string}>>;
	spool: () => {waiting: number; dropped: Partial<Record<string, number>>} | undefined;
	now: () => Date;
};

export type ControllerMetrics = {
	registry: Registry;
	observe: (record: AuditRecord) => void;
	handshakeFailed: (reason: string) => void;
	text: () => Promise<string>;
};

const label = (value: unknown, fallback: string) => (typeof value === 'string' && /^[\w.@-]{1,128}$/.test(value) ? value : fallback);

export function createControllerMetrics(facts: ScrapeFacts): ControllerMetrics {
	const registry = new Registry();
	const registers = [registry];
	const counters = controllerCounters(registers);
	const records = new Counter({name: 'xi_exec_audit_records_total', help: 'Audit records written by the controller.', registers});
	const handshakes = new Counter({name: 'xi_exec_tls_handshake_failures_total', help: 'TLS handshakes of the REST API that failed, by error code.', labelNames: ['reason'], registers});
	scrapedLabelledGauge({name: 'xi_exec_certificate_expiry_days', help: 'Days until each agent\'s certificate expires.', label: 'agent', registers}, async () => {
		const now = facts.now();
		return (await facts.agents()).map(agent => [label(agent.name, 'unnamed'), daysUntil(Date.parse(agent.certificateExpires), now)]);
	});
	scrapedGauge({name: 'xi_exec_syslog_spool_records', help: 'Audit records waiting in the syslog spool (0 when syslog is not configured).', registers}, () => facts.spool()?.waiting ?? 0);
	scrapedLabelledGauge({name: 'xi_exec_syslog_dropped_total', help: 'Audit records the syslog spool dropped, by reason (they remain in the local log).', label: 'reason', registers}, () =>
		Object.entries(facts.spool()?.dropped ?? {}).map(([reason, count]) => [reason.replaceAll(' ', '_'), count ?? 0]));

	const observe = observeWith(auditEvents(counters));
	return {
		registry,
		observe(record) {
			records.inc();
			observe(record.event, record);
		},
		handshakeFailed(reason) {
			handshakes.inc({reason: label(reason, 'unknown')});
		},
		text: async () => registry.metrics(),
	};
}

function controllerCounters(registers: Registry[]) {
	return {
		runs: new Counter({name: 'xi_exec_runs_total', help: 'Runs requested (dry runs excluded), by script.', labelNames: ['script'], registers}),
		results: new Counter({name: 'xi_exec_host_results_total', help: 'Hosts\' outcomes of runs, by script and status.', labelNames: ['script', 'status'], registers}),
		durations: new Histogram({name: 'xi_exec_host_run_duration_seconds', help: 'How long each host\'s run took, by agent.', labelNames: ['agent'], buckets: runDurationBuckets, registers}),
		unreachable: new Counter({name: 'xi_exec_unreachable_total', help: 'Hosts that could not be reached for a run, by agent.', labelNames: ['agent'], registers}),
		denials: new Counter({name: 'xi_exec_denials_total', help: 'Runs refused (reason: the error code) and policy denials (reason: policy).', labelNames: ['reason'], registers}),
		pairings: new Counter({name: 'xi_exec_pairings_total', help: 'Pairing ceremonies, by outcome.', labelNames: ['outcome'], registers}),
	};
}

/** What each audit event moves. */
function auditEvents(counters: ReturnType<typeof controllerCounters>): EventTable<AuditRecord> {
	const {runs, results, durations, unreachable, denials, pairings} = counters;
	/** The script of each recent request, for its outcome records (which name only the request). */
	const scripts = new Map<string, string>();
	const requestIdOf = (record: AuditRecord) => (typeof record['requestId'] === 'string' ? record['requestId'] : undefined);
	const pairing = (_record: AuditRecord, event: string) => pairings.inc({outcome: event.slice('pairing.'.length)});
	return {
		'run.request'(record) {
			const script = label(record['script'], 'unknown');
			const requestId = requestIdOf(record);
			runs.inc({script});
			if (requestId) {
				scripts.set(requestId, script);
				if (scripts.size > 10_000) {
					scripts.delete(scripts.keys().next().value!);
				}
			}
		},
		'run.outcome'(record) {
			const agent = label(record['agent'], 'unknown');
			const status = label(record['status'], 'unknown');
			const requestId = requestIdOf(record);
			results.inc({script: (requestId && scripts.get(requestId)) ?? 'unknown', status});
			// The time a host's script ran; an unreachable or skipped host ran nothing.
			if (typeof record['durationMs'] === 'number' && status !== 'unreachable' && status !== 'skipped') {
				durations.observe({agent}, record['durationMs'] / 1000);
			}

			if (status === 'unreachable') {
				unreachable.inc({agent});
			}
		},
		'run.refused'(record) {
			denials.inc({reason: label(record['code'], 'unspecified')});
		},
		'policy.decision'(record) {
			if (record['allowed'] === false) {
				denials.inc({reason: 'policy'});
			}
		},
		'pairing.paired': pairing,
		'pairing.refused': pairing,
		'pairing.wrong-code': pairing,
	};
}
