/**
 * What `runbook show NAME --json` and GET /v1/runbooks/{name} print: the runbook's parameters
 * (secrets as hashes), its stages with each step's script, arguments, hosts and what happens
 * after it, its handlers, and (when a dry run asked them) each host's policy answer. Pure.
 */
import {hashSecret} from '../protocol/secret-args.js';
import {stageSteps, type Parameter, type Runbook, type Step} from './model.js';
import type {ParameterValues} from './parameters.js';
import type {PlannedStep, RunbookPlan} from './plan-runbook.js';

export type PolicyAnswer = {agent: string; status: string; reason?: string};

export function planDocument(input: {runbook: Runbook; plan: RunbookPlan; file: string; sha256: string; policy?: ReadonlyMap<string, PolicyAnswer[]>}) {
	const {runbook, plan} = input;
	const step = (one: Step) => stepDocument(one, plan.steps.get(one.name)!, input.policy?.get(one.name));
	return {
		name: runbook.name,
		description: runbook.description ?? null,
		file: input.file,
		fileSha256: input.sha256,
		parameters: runbook.parameters.map(parameter => parameterDocument(parameter, plan.values)),
		stages: runbook.stages.map(stage => (stage.kind === 'step'
			? {parallel: false, when: stage.step.when, steps: [step(stage.step)]}
			: {parallel: true, when: stage.when, steps: stageSteps(stage).map(one => step(one))})),
		handlers: runbook.handlers.map(one => step(one)),
		notes: plan.notes,
	};
}

export type PlanDocument = ReturnType<typeof planDocument>;

function parameterDocument(parameter: Parameter, values: ParameterValues) {
	const value = values[parameter.name];
	return {
		name: parameter.name,
		description: parameter.description ?? null,
		schema: parameter.schema,
		secret: parameter.secret,
		value: parameter.secret && value !== undefined ? hashSecret(typeof value === 'string' ? value : JSON.stringify(value)) : (value ?? null),
	};
}

function stepDocument(step: Step, planned: PlannedStep, policy: PolicyAnswer[] | undefined) {
	return {
		name: step.name,
		description: step.description ?? null,
		script: planned.script,
		args: planned.args.map((value, index) => (planned.secretPositions.includes(index) ? hashSecret(value) : value)),
		on: 'selector' in planned.on ? {selector: planned.on.selector} : {[planned.on.outcome === 'failed' ? 'failedIn' : 'succeededIn']: planned.on.step},
		targets: planned.targets,
		onFailure: step.onFailure.type === 'run' ? `run ${step.onFailure.step}` : step.onFailure.type,
		when: step.when,
		rollout: {
			...(step.rollout.batch ? {batch: amountText(step.rollout.batch)} : {}),
			...(step.rollout.maxFailures ? {maxFailures: amountText(step.rollout.maxFailures)} : {}),
			...(step.rollout.canary ? {canary: step.rollout.canary} : {}),
			...(step.rollout.ignoreUnreachable ? {ignoreUnreachable: true} : {}),
			...(step.rollout.runTimeoutSeconds ? {runTimeout: step.rollout.runTimeoutSeconds} : {}),
			...(step.rollout.idleTimeoutSeconds ? {idleTimeout: step.rollout.idleTimeoutSeconds} : {}),
			...(step.timeoutSeconds ? {timeout: step.timeoutSeconds} : {}),
		},
		...(policy ? {policy} : {}),
	};
}

function amountText(amount: {value: number; percent: boolean}): string {
	return `${amount.value}${amount.percent ? '%' : ''}`;
}
