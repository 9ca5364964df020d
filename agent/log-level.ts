/**
 * The level of each agent log line (`level` in its JSON, for journald priorities and `jq`): what
 * failed, was refused or lost is `warn` (the agent goes on; what stops it is printed on stderr and
 * ends the process), the rest is `info`. An event not listed is `info`. Pure.
 */
export type LogLevel = 'info' | 'warn';

const warnings = new Set([
	'allowlist.reload-failed', 'allowlist.unusable', 'audit.failed', 'hook.unusable', 'reload.refused', 'certificate.error', 'pins.save-failed', 'protocol.error',
	'request.error', 'run.error', 'run.refused', 'tags.reload-failed', 'tls.refused', 'unpaired', 'syslog.unreachable', 'syslog.spooled', 'syslog.dropped',
	'relay.error', 'relay.refused', 'relay.results-damaged', 'relay.result-unkept',
]);

export function levelOf(event: string, fields: Record<string, unknown> = {}): LogLevel {
	if (event === 'decision') {
		return fields['allowed'] === false ? 'warn' : 'info';
	}

	return warnings.has(event) ? 'warn' : 'info';
}
