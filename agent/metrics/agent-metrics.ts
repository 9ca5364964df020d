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
import {collectDefaultMetrics, Counter, Gauge, Histogram, Registry} from 'prom-client';

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

const code = (value: unknown, fallback: string) => (typeof value === 'string' && /^[A-Za-z][\w.-]{0,63}$/.test(value) ? value : fallback);

export function createAgentMetrics(facts: AgentScrapeFacts): AgentMetrics {
	const registry = new Registry();
	const registers = [registry];
	collectDefaultMetrics({register: registry, prefix: 'xi_exec_agent_'});
	const requests = new Counter({name: 'xi_exec_agent_requests_total', help: 'Run requests received, by script.', labelNames: ['script'], registers});
	const decisions = new Counter({name: 'xi_exec_agent_decisions_total', help: 'Decisions on requests that passed the execution boundary (the auth hook\'s, if one is set), by script and whether allowed.', labelNames: ['script', 'allowed'], registers});
	const refusals = new Counter({name: 'xi_exec_agent_refusals_total', help: 'Requests refused before their script ran, by status.', labelNames: ['status'], registers});
	const runs = new Counter({name: 'xi_exec_agent_runs_total', help: 'Scripts that ran, by script and outcome.', labelNames: ['script', 'status'], registers});
	const durations = new Histogram({name: 'xi_exec_agent_run_duration_seconds', help: 'How long each script ran, by script.', labelNames: ['script'], buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800], registers});
	/** The requests whose script started and has not finished (a script that never started is never counted). */
	const started = new Set<unknown>();
	new Gauge({
		name: 'xi_exec_agent_runs_running', help: 'Scripts running now.', registers,
		collect() {
			this.set(started.size);
		},
	});
	const tlsRefused = new Counter({name: 'xi_exec_agent_tls_refused_total', help: 'Connections refused at TLS, by error code (peer-check: a certificate the pins refuse).', labelNames: ['reason'], registers});
	const protocolErrors = new Counter({name: 'xi_exec_agent_protocol_errors_total', help: 'Connections that broke the wire protocol.', registers});
	const syslog = new Counter({name: 'xi_exec_agent_syslog_events_total', help: 'The syslog forwarder\'s events (spooled, dropped, unreachable).', labelNames: ['event'], registers});
	const auditFailures = new Counter({name: 'xi_exec_agent_audit_failures_total', help: 'Audit records that could not be written.', registers});
	new Gauge({
		name: 'xi_exec_agent_certificate_expiry_days', help: 'Days until this agent\'s certificate expires.', registers,
		collect() {
			const expires = facts.certificateExpires();
			if (expires) {
				this.set(Math.floor((expires.getTime() - facts.now().getTime()) / 86_400_000));
			}
		},
	});
	new Gauge({
		name: 'xi_exec_agent_syslog_spool_records', help: 'Audit records waiting in the syslog spool (0 when syslog is not configured).', registers,
		collect() {
			this.set(facts.spoolWaiting());
		},
	});

	const script = (fields: Record<string, unknown>) => (typeof fields['script'] === 'string' && facts.isListed(fields['script']) ? fields['script'] : 'unlisted');

	return {
		registry,
		observe(event, fields) {
			switch (event) {
				case 'request.received': {
					requests.inc({script: script(fields)});
					break;
				}

				case 'decision': {
					decisions.inc({script: script(fields), allowed: fields['allowed'] === true ? 'true' : 'false'});
					break;
				}

				case 'run.refused': {
					refusals.inc({status: code(fields['status'], 'unknown')});
					break;
				}

				case 'run.start': {
					started.add(fields['requestId']);
					break;
				}

				case 'run.finish': {
					started.delete(fields['requestId']);
					runs.inc({script: script(fields), status: code(fields['status'], 'unknown')});
					if (typeof fields['durationMs'] === 'number') {
						durations.observe({script: script(fields)}, fields['durationMs'] / 1000);
					}

					break;
				}

				case 'tls.refused': {
					const reason = typeof fields['reason'] === 'string' && /^[A-Z][A-Z\d_]{2,63}$/.test(fields['reason']) ? fields['reason'] : 'peer-check';
					tlsRefused.inc({reason});
					break;
				}

				case 'protocol.error': {
					protocolErrors.inc();
					break;
				}

				case 'syslog.spooled':
				case 'syslog.dropped':
				case 'syslog.unreachable': {
					syslog.inc({event: event.slice('syslog.'.length)});
					break;
				}

				case 'audit.failed': {
					auditFailures.inc();
					break;
				}

				default:
			}
		},
		text: async () => registry.metrics(),
	};
}
