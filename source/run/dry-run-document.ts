/**
 * A dry run's answer, the same document for every face (`run --dry-run --json`, POST /v1/runs with
 * `"dryRun": true`, an MCP script tool with `dryRun`): each agent's answer to "would you run
 * this?", asked of its allowlist, schema and auth hook without running anything, by agent name.
 *
 *   {"requestId", "script", "args", "dryRun": true, "targets": [{"agent", "wouldRun", "status", "reason"}]}
 *
 * Pure.
 */
import type {AgentResult} from './events.js';

export type DryRunAnswer = {agent: string; wouldRun: boolean; status: string; reason: string};

export type DryRunDocument = {requestId: string; script: string; args: readonly string[]; dryRun: true; targets: DryRunAnswer[]};

/** Reads one agent's result of a dry run: `ok` means it would run, with the policy's reason. */
export function dryRunAnswer(result: AgentResult): DryRunAnswer {
	const wouldRun = result.status === 'ok';
	const said = result.reason ?? '';
	const reason = wouldRun
		? (/^dry run: would run \((.*)\)$/s.exec(said)?.[1] ?? (said === 'dry run: would run' || said === '' ? 'allowlisted; no auth hook configured' : said))
		: (said === '' ? result.status : `${result.status === 'denied' ? '' : `${result.status}: `}${said}`);
	return {agent: result.agent, wouldRun, status: result.status, reason};
}

/** The run's header (its shown arguments: a secret one as its hash) and every host's result. */
export function dryRunDocument(run: {requestId: string; script: string; args: readonly string[]}, results: readonly AgentResult[]): DryRunDocument {
	return dryRunDocumentOf(run, results.map(result => dryRunAnswer(result)));
}

/**
 * The same from each host's answer (dryRunAnswer), which a face keeps as each host answers rather
 * than its whole result (with its signed head, notes and link): a few fields per host.
 */
export function dryRunDocumentOf(run: {requestId: string; script: string; args: readonly string[]}, answers: readonly DryRunAnswer[]): DryRunDocument {
	const targets = [...answers].sort((a, b) => a.agent.localeCompare(b.agent));
	return {requestId: run.requestId, script: run.script, args: run.args, dryRun: true, targets};
}
