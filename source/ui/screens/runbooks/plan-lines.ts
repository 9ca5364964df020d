/**
 * A runbook's dry run as lines to scroll: its parameters (secrets as hashes), then each stage's
 * steps with the script and arguments, the hosts resolved, what happens after it, and what each
 * host's policy answers — the hosts that would run folded (`web[1-3]`), every other host on a
 * line of its own with its reason, first. Pure.
 */
import {foldNames} from '../../../run/group-output.js';
import {visible} from '../../../output/visible.js';
import type {PlanDocument} from '../../../runbooks/plan-document.js';

export type PlanLine = {text: string; tone?: 'title' | 'dim' | 'good' | 'bad' | 'warn'};

type PlanStepDocument = PlanDocument['handlers'][number];

export function planLines(plan: PlanDocument): PlanLine[] {
	const lines: PlanLine[] = [{text: `${visible(plan.name)}  ${visible(plan.file)}  sha256 ${plan.fileSha256.slice(0, 12)}…`, tone: 'title'}];
	if (plan.description) {
		lines.push({text: visible(plan.description), tone: 'dim'});
	}

	if (plan.parameters.length > 0) {
		lines.push({text: `Parameters: ${plan.parameters.map(parameter => `${visible(parameter.name)}=${parameter.secret ? `${String(parameter.value).slice(0, 20)}… (secret)` : visible(typeof parameter.value === 'string' ? parameter.value : JSON.stringify(parameter.value))}`).join('  ')}`});
	}

	let number = 0;
	for (const stage of plan.stages) {
		if (stage.parallel) {
			lines.push({text: `${++number}. in parallel${stage.when === 'always' ? ' (always)' : ''}:`, tone: 'title'});
			for (const step of stage.steps) {
				lines.push(...stepLines(step, '   ∥ ', '     '));
			}
		} else {
			lines.push(...stepLines(stage.steps[0]!, `${++number}. `, '   '));
		}
	}

	if (plan.handlers.length > 0) {
		lines.push({text: 'Run only when a step\'s onFailure names them:', tone: 'title'});
		for (const step of plan.handlers) {
			lines.push(...stepLines(step, '   ↳ ', '     '));
		}
	}

	for (const note of plan.notes) {
		lines.push({text: `note: ${visible(note)}`, tone: 'warn'});
	}

	return lines;
}

function stepLines(step: PlanStepDocument, first: string, indent: string): PlanLine[] {
	const args = step.args.length > 0 ? ` ${visible(JSON.stringify(step.args))}` : '';
	const on = 'selector' in step.on ? (step.on.selector as string[]).map(item => visible(item)).join(' ') : 'failedIn' in step.on ? `the hosts where ${visible(String(step.on.failedIn))} failed` : `the hosts where ${visible(String(step.on.succeededIn))} was ok`;
	const rollout = Object.entries(step.rollout).map(([name, value]) => `${name} ${String(value)}`).join(', ');
	const after = [step.when === 'always' ? 'always runs' : '', `on failure: ${step.onFailure}`, rollout].filter(Boolean).join(' · ');
	const lines: PlanLine[] = [
		{text: `${first}${visible(step.name)}: ${visible(step.script)}${args} on ${on}`, tone: 'title'},
		{text: `${indent}${step.targets.length} ${step.targets.length === 1 ? 'host' : 'hosts'}: ${step.targets.length === 0 ? '(none yet)' : foldNames(step.targets)}   ${after}`, tone: 'dim'},
	];
	const policy = step.policy ?? [];
	const refused = policy.filter(answer => answer.status !== 'would run');
	for (const answer of refused) {
		lines.push({text: `${indent}✗ ${visible(answer.agent)} ${answer.status}${answer.reason ? `: ${visible(answer.reason)}` : ''}`, tone: 'bad'});
	}

	const willing = policy.filter(answer => answer.status === 'would run').map(answer => answer.agent);
	if (willing.length > 0) {
		lines.push({text: `${indent}✓ would run: ${foldNames(willing)}`, tone: 'good'});
	}

	return lines;
}
