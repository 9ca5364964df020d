/**
 * One host's result as every document shows it (`run --json`, the history, --outdir, the REST
 * API): `reason` null when there is none; `via` the link that carried it (`tls`, `relay`) and
 * `notes` what happened on the way (relay gaps recovered, duplicates dropped, a fallback), when known.
 */
import type {AgentResult} from './events.js';

export function resultDocument(result: AgentResult) {
	return {
		agent: result.agent,
		status: result.status,
		exitCode: result.exitCode,
		signal: result.signal,
		stdout: result.stdout,
		stderr: result.stderr,
		truncated: result.truncated,
		durationMs: result.durationMs,
		reason: result.reason ?? null,
		// The link, and what happened on it, when known (every run names its link; notes only when there are some).
		...(result.via ? {via: result.via} : {}),
		...(result.notes?.length ? {notes: [...result.notes]} : {}),
	};
}
