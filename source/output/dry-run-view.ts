/**
 * `run --dry-run`: each agent's answer to "would you run this?", asked of its allowlist, schema
 * and auth hook without running anything. Printed once all have answered, by agent name:
 *
 *   AGENT  WOULD RUN  REASON
 *   web1   yes        allowed by rule "operators"
 *   web2   no         denied by rule "never force": "--force" (forbidden: --force)
 *   1 would run, 1 would not (nothing ran)   request ID
 *
 * With --json: {"requestId", "script", "args", "dryRun": true,
 *   "targets": [{"agent", "wouldRun", "status", "reason"}]}. Pure apart from `write`.
 */
import type {AgentResult, RunEvent} from '../run/events.js';
import {safeJson, visible} from './visible.js';

export type DryRunAnswer = {agent: string; wouldRun: boolean; status: string; reason: string};

/** Reads one agent's result of a dry run: `ok` means it would run, with the policy's reason. */
export function dryRunAnswer(result: AgentResult): DryRunAnswer {
	const wouldRun = result.status === 'ok';
	const said = result.reason ?? '';
	const reason = wouldRun
		? (/^dry run: would run \((.*)\)$/s.exec(said)?.[1] ?? (said === 'dry run: would run' || said === '' ? 'allowlisted; no auth hook configured' : said))
		: (said === '' ? result.status : `${result.status === 'denied' ? '' : `${result.status}: `}${said}`);
	return {agent: result.agent, wouldRun, status: result.status, reason};
}

export function createDryRunView(write: (text: string) => void, options: {json: boolean}) {
	const answers: DryRunAnswer[] = [];
	let header: Extract<RunEvent, {type: 'run-started'}> | undefined;
	return {
		onEvent(event: RunEvent): void {
			if (event.type === 'run-started') {
				header = event;
			} else if (event.type === 'agent-finished') {
				answers.push(dryRunAnswer(event.result));
			} else if (event.type === 'run-finished') {
				answers.sort((a, b) => a.agent.localeCompare(b.agent));
				write(options.json ? jsonDocument(event.requestId, header, answers) : table(event.requestId, answers));
			}
		},
	};
}

function jsonDocument(requestId: string, header: Extract<RunEvent, {type: 'run-started'}> | undefined, answers: readonly DryRunAnswer[]): string {
	return safeJson({requestId, script: header?.script, args: header?.args, dryRun: true, targets: answers}) + '\n';
}

function table(requestId: string, answers: readonly DryRunAnswer[]): string {
	const width = Math.max('AGENT'.length, ...answers.map(answer => answer.agent.length));
	const rows = answers.map(answer => `${answer.agent.padEnd(width)}  ${(answer.wouldRun ? 'yes' : 'no').padEnd(9)}  ${visible(answer.reason)}`);
	const yes = answers.filter(answer => answer.wouldRun).length;
	return [
		`${'AGENT'.padEnd(width)}  WOULD RUN  REASON`,
		...rows,
		`${yes} would run, ${answers.length - yes} would not (nothing ran)   request ${requestId}`,
	].join('\n') + '\n';
}
