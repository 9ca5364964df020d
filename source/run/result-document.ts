/** One host's result as every document shows it (`run --json`, the history, --outdir, the REST API): `reason` null when there is none. */
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
	};
}
