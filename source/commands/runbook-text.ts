/**
 * The plain CLI's words for runbooks: the plan (`runbook show`), a run as it goes (each step's
 * hosts streamed by the run printer, a line when each step starts and ends, the runbook's end),
 * and a recorded run (`runbooks show ID`). Pure apart from `write`.
 */
import type {AgentResult} from '../run/events.js';
import {formatSummary} from '../output/run-summary.js';
import {createPlainRunPrinter} from '../output/plain-run.js';
import {visible} from '../output/visible.js';
import type {RunbookEvent} from '../runbooks/execute.js';
import type {PlanDocument} from '../runbooks/plan-document.js';
import {cancelPlace, type RunbookRunDocument} from '../runbooks/run-record.js';
import type {StepOutcome} from '../runbooks/step-outcome.js';

export function planText(plan: PlanDocument): string {
	const lines = [`runbook ${plan.name}${plan.description ? ` — ${visible(plan.description)}` : ''}`, `file ${plan.file}  sha256 ${plan.fileSha256}`];
	for (const parameter of plan.parameters) {
		lines.push(`parameter ${parameter.name} = ${visible(JSON.stringify(parameter.value))}${parameter.secret ? ' (secret)' : ''}${parameter.description ? `  ${visible(parameter.description)}` : ''}`);
	}

	let number = 0;
	for (const stage of plan.stages) {
		number++;
		lines.push('', `${number}.${stage.parallel ? ' in parallel:' : ''}${stage.when === 'always' ? ' (when: always)' : ''}`);
		for (const step of stage.steps) {
			lines.push(...stepLines(step));
		}
	}

	if (plan.handlers.length > 0) {
		lines.push('', 'handlers (run only by onFailure: run):');
		for (const step of plan.handlers) {
			lines.push(...stepLines(step));
		}
	}

	for (const note of plan.notes) {
		lines.push(`note: ${visible(note)}`);
	}

	return lines.join('\n') + '\n';
}

function stepLines(step: PlanDocument['handlers'][number]): string[] {
	const on = 'selector' in step.on ? `--on ${(step.on.selector as string[]).join(' --on ')}` : `the hosts where ${Object.values(step.on)[0]} ${'failedIn' in step.on ? 'failed' : 'was ok'} (of ${step.targets.join(', ') || 'none'})`;
	const rollout = Object.entries(step.rollout).map(([key, value]) => `${key} ${String(value)}`).join(', ');
	const lines = [`   ${step.name}: ${step.script}${step.args.length > 0 ? ` ${visible(JSON.stringify(step.args))}` : ''} ${on}; onFailure: ${step.onFailure}${rollout ? `; ${rollout}` : ''}`];
	if ('selector' in step.on) {
		lines.push(`      hosts: ${step.targets.join(', ')}`);
	}

	for (const answer of step.policy ?? []) {
		lines.push(`      ${answer.agent}: ${answer.status}${answer.reason ? ` (${visible(answer.reason)})` : ''}`);
	}

	return lines;
}

export function outcomeText(outcome: StepOutcome): string {
	const counts = formatSummary(outcome.counts);
	return `${outcome.status}${outcome.reason ? `: ${visible(outcome.reason)}` : ''}${counts ? ` (${counts})` : ''}`;
}

/** Prints a runbook run as it goes; steps of a parallel group have their hosts' lines prefixed by the step's name. */
export function createRunbookPrinter(write: (text: string) => void, options: {parallelSteps: ReadonlySet<string>}) {
	const printers = new Map<string, ReturnType<typeof createPlainRunPrinter>>();
	return {
		onEvent(event: RunbookEvent): void {
			switch (event.type) {
				case 'step-started': {
					write(`== ${event.step}: ${event.script} --on ${event.on.join(' --on ')}   request ${event.requestId}\n`);
					break;
				}

				case 'step-event': {
					const inner = event.event;
					if (inner.type === 'run-started') {
						const prefix = options.parallelSteps.has(event.step) ? `${event.step}/` : '';
						printers.set(event.step, createPlainRunPrinter(text => write(prefix ? text.split('\n').map(line => (line ? prefix + line : line)).join('\n') : text), {nameWidth: Math.max(...inner.targets.map(name => name.length))}));
					}

					printers.get(event.step)?.onEvent(inner);
					break;
				}

				case 'step-finished': {
					write(`-- ${event.step}: ${outcomeText(event.outcome)}\n`);
					break;
				}

				case 'step-waiting': {
					// The runbook command prints this step's approval request itself (its waitingForApproval port).
					break;
				}

				case 'runbook-finished': {
					for (const skipped of event.notRun) {
						write(`-- ${skipped.step}: not run (${visible(skipped.reason)})\n`);
					}

					break;
				}
			}
		},
	};
}

export function runbookRunText(document: RunbookRunDocument): string {
	const lines = [`runbook ${document.runbook}, run ${document.id}: ${document.status}${document.reason ? ` (${visible(document.reason)})` : ''}`,
		`by ${visible(document.caller)} at ${document.startedAt}${document.endedAt ? `, ended ${document.endedAt}` : ''}; file ${document.file} sha256 ${document.fileSha256}${document.resumeOf ? `; resumes ${document.resumeOf}` : ''}`];
	if (document.cancel) {
		lines.push(`cancelled${document.cancel.by ? ` by ${visible(document.cancel.by)}` : ''} ${cancelPlace(document.cancel)}; \`xi-exec runbook run --resume ${document.id}\` continues it`);
	}

	for (const step of document.steps) {
		const counts = formatSummary(step.counts);
		lines.push(`  ${step.name}: ${step.status}${step.reason ? ` (${visible(step.reason)})` : ''}${counts ? `  ${counts}` : ''}${step.requestId ? `  request ${step.requestId}` : ''}${step.carriedFrom ? `  (carried from ${step.carriedFrom})` : ''}`);
	}

	for (const skipped of document.notRun) {
		lines.push(`  ${skipped.step}: not run (${visible(skipped.reason)})`);
	}

	return lines.join('\n') + '\n';
}

/** For the canary question: the step's canary results. */
export function canaryQuestion(step: string, canary: readonly AgentResult[]): string {
	return `Step ${step}: the ${canary.length} canary ${canary.length === 1 ? 'host is' : 'hosts are'} ok. Go on with its other hosts? [y/N] `;
}
