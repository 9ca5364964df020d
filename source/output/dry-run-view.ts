/**
 * `run --dry-run`: each agent's answer to "would you run this?", asked of its allowlist, schema
 * and auth hook without running anything. Printed once all have answered, by agent name:
 *
 *   AGENT  WOULD RUN  REASON
 *   web1   yes        allowed by rule "operators"
 *   web2   no         denied by rule "never force": "--force" (forbidden: --force)
 *   1 would run, 1 would not (nothing ran)   request ID
 *
 * With --json: the dry run's document (run/dry-run-document.ts), which the REST API and the MCP
 * face answer too. Pure apart from `write`.
 */
import type {RunEvent} from '../run/events.js';
import {dryRunAnswer, dryRunDocumentOf, type DryRunAnswer} from '../run/dry-run-document.js';
import {safeJson, visible} from './visible.js';

// Their home is run/dry-run-document.ts; kept here for the faces that import them from the view.
export {dryRunAnswer, type DryRunAnswer} from '../run/dry-run-document.js';

/** Keeps each host's answer (a few fields), not its result, until all have answered. */
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
				const document = dryRunDocumentOf({requestId: event.requestId, script: header?.script ?? '', args: header?.args ?? []}, answers);
				write(options.json ? safeJson(document) + '\n' : table(event.requestId, document.targets));
			}
		},
	};
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
