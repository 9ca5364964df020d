/**
 * The agent's Prometheus metrics (prom-client), folded from the events it logs (one call of
 * `observe` per log line) plus what is read at each scrape. Label values are only script names
 * from this agent's allowlist (`unlisted` for any other name a request carried), fixed words and
 * error codes: never arguments, callers, tokens, addresses or free text.
 *
 *   xi_exec_agent_requests_total{script}                run requests received
 *   xi_exec_agent_decisions_total{script,allowed}       decisions on requests past the execution boundary (the hook's, if any)
 *   xi_exec_agent_refusals_total{status}                requests refused before running (denied, error, cancelled)
 *   xi_exec_agent_runs_total{script,status}             scripts that ran, by outcome (ok, failed, timeout, cancelled, ...)
 *   xi_exec_agent_run_duration_seconds{script}          histogram of how long each script ran
 *   xi_exec_agent_runs_running                          scripts running now
 *   xi_exec_agent_tls_refused_total{reason}             connections refused at TLS (reason: an error code, else peer-check)
 *   xi_exec_agent_protocol_errors_total                 connections that broke the wire protocol
 *   xi_exec_agent_syslog_events_total{event}            the syslog forwarder's spooled, dropped, unreachable events
 *   xi_exec_agent_audit_failures_total                  audit records that could not be written
 *   xi_exec_agent_certificate_expiry_days               days until this agent's certificate expires (read at scrape)
 *   xi_exec_agent_syslog_spool_records                  records waiting in the syslog spool (read at scrape)
 *   xi_exec_agent_process_*, xi_exec_agent_nodejs_*     prom-client's default process metrics (memory, CPU, descriptors)
 */
import {collectDefaultMetrics, Counter, Histogram, Registry} from 'prom-client';
import {daysUntil, observeWith, runDurationBuckets, scrapedGauge, type EventTable} from '../../source/metrics/instruments.js';

export type AgentScrapeFacts = {
	/** Whether a script name is in the allowlist now (only those become label values). */
	isListed: (script: string) => boolean;
	certificateExpires: () => Date | undefined;
	spoolWaiting: () => number;
	now: () => Date;
};

export type AgentMetrics = {
	registry: Registry;
	observe: (event: string, fields: Record<string, unknown>) => void;
	text: () => Promise<string>;
};

type Fields = Record<string, unknown>;

const code = (value: unknown, fallback: string) => (typeof value === 'string' && /^[A-Za-z][\w.-]{0,63}$/.test(value) ? value : fallback);

export function createAgentMetrics(facts: AgentScrapeFacts): AgentMetrics {
	const registry = new Registry();
	const registers = [registry];
	collectDefaultMetrics({register: registry, prefix: 'xi_exec_agent_'});
	const runCounters = agentRunCounters(registers);
	/** The requests whose script started and has not finished (a script that never started is never counted). */
	const started = new Set<unknown>();
	scrapedGauge({name: 'xi_exec_agent_runs_running', help: 'Scripts running now.', registers}, () => started.size);
	const connectionCounters = agentConnectionCounters(registers);
	scrapedGauge({name: 'xi_exec_agent_certificate_expiry_days', help: 'Days until this agent\'s certificate expires.', registers}, () => {
		const expires = facts.certificateExpires();
		return expires ? daysUntil(expires, facts.now()) : undefined;
	});
	scrapedGauge({name: 'xi_exec_agent_syslog_spool_records', help: 'Audit records waiting in the syslog spool (0 when syslog is not configured).', registers}, () => facts.spoolWaiting());

	const script = (fields: Fields) => (typeof fields['script'] === 'string' && facts.isListed(fields['script']) ? fields['script'] : 'unlisted');
	return {
		registry,
		observe: observeWith({...runEvents(runCounters, started, script), ...connectionEvents(connectionCounters)}),
		text: async () => registry.metrics(),
	};
}

function agentRunCounters(registers: Registry[]) {
	return {
		requests: new Counter({name: 'xi_exec_agent_requests_total', help: 'Run requests received, by script.', labelNames: ['script'], registers}),
		decisions: new Counter({name: 'xi_exec_agent_decisions_total', help: 'Decisions on requests that passed the execution boundary (the auth hook\'s, if one is set), by script and whether allowed.', labelNames: ['script', 'allowed'], registers}),
		refusals: new Counter({name: 'xi_exec_agent_refusals_total', help: 'Requests refused before their script ran, by status.', labelNames: ['status'], registers}),
		runs: new Counter({name: 'xi_exec_agent_runs_total', help: 'Scripts that ran, by script and outcome.', labelNames: ['script', 'status'], registers}),
		durations: new Histogram({name: 'xi_exec_agent_run_duration_seconds', help: 'How long each script ran, by script.', labelNames: ['script'], buckets: runDurationBuckets, registers}),
	};
}

function agentConnectionCounters(registers: Registry[]) {
	return {
		tlsRefused: new Counter({name: 'xi_exec_agent_tls_refused_total', help: 'Connections refused at TLS, by error code (peer-check: a certificate the pins refuse).', labelNames: ['reason'], registers}),
		protocolErrors: new Counter({name: 'xi_exec_agent_protocol_errors_total', help: 'Connections that broke the wire protocol.', registers}),
		syslog: new Counter({name: 'xi_exec_agent_syslog_events_total', help: 'The syslog forwarder\'s events (spooled, dropped, unreachable).', labelNames: ['event'], registers}),
		auditFailures: new Counter({name: 'xi_exec_agent_audit_failures_total', help: 'Audit records that could not be written.', registers}),
	};
}

/** What each event of a run request moves. */
function runEvents(counters: ReturnType<typeof agentRunCounters>, started: Set<unknown>, script: (fields: Fields) => string): EventTable<Fields> {
	const {requests, decisions, refusals, runs, durations} = counters;
	return {
		'request.received'(fields) {
			requests.inc({script: script(fields)});
		},
		decision(fields) {
			decisions.inc({script: script(fields), allowed: fields['allowed'] === true ? 'true' : 'false'});
		},
		'run.refused'(fields) {
			refusals.inc({status: code(fields['status'], 'unknown')});
		},
		'run.start'(fields) {
			started.add(fields['requestId']);
		},
		'run.finish'(fields) {
			started.delete(fields['requestId']);
			runs.inc({script: script(fields), status: code(fields['status'], 'unknown')});
			if (typeof fields['durationMs'] === 'number') {
				durations.observe({script: script(fields)}, fields['durationMs'] / 1000);
			}
		},
	};
}

/** What each event of a connection, the syslog forwarder or the audit log moves. */
function connectionEvents(counters: ReturnType<typeof agentConnectionCounters>): EventTable<Fields> {
	const {tlsRefused, protocolErrors, syslog, auditFailures} = counters;
	const syslogEvent = (_fields: Fields, event: string) => syslog.inc({event: event.slice('syslog.'.length)});
	return {
		'tls.refused'(fields) {
			const reason = typeof fields['reason'] === 'string' && /^[A-Z][A-Z\d_]{2,63}$/.test(fields['reason']) ? fields['reason'] : 'peer-check';
			tlsRefused.inc({reason});
		},
		'protocol.error'() {
			protocolErrors.inc();
		},
		'syslog.spooled': syslogEvent,
		'syslog.dropped': syslogEvent,
		'syslog.unreachable': syslogEvent,
		'audit.failed'() {
			auditFailures.inc();
		},
	};
}
