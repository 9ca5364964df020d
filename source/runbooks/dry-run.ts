/**
 * `runbook show`: each step asked as a dry run of the same run use case (`run --dry-run`), on
 * every host it could reach: each agent answers from its allowlist, schema and auth hook whether it
 * would run the step, and nothing runs. A step the run use case refuses (a token, a blast-radius
 * limit) answers with that refusal for all its hosts.
 */
import {executePlan, type RunPorts} from '../core/run-execute.js';
import {resolvePlan} from '../core/run-plan.js';
import {XiError} from '../errors.js';
import {collectResults} from '../run/collect-results.js';
import {allSteps} from './model.js';
import type {PolicyAnswer} from './plan-document.js';
import type {PreparedRunbookRun} from './prepare-runbook.js';

export async function dryRunSteps(ports: RunPorts, prepared: PreparedRunbookRun, input: {caller: string; token?: string}): Promise<Map<string, PolicyAnswer[]>> {
	const answers = new Map<string, PolicyAnswer[]>();
	await Promise.all(allSteps(prepared.runbook).map(async step => {
		const planned = prepared.plan.steps.get(step.name)!;
		if (planned.targets.length === 0) {
			answers.set(step.name, []);
			return;
		}

		try {
			const plan = await resolvePlan(ports, {
				script: planned.script,
				args: planned.args,
				on: planned.targets,
				parallel: 64,
				timeoutSeconds: step.timeoutSeconds ?? 30,
				dryRun: true,
				caller: input.caller,
				...(input.token === undefined ? {} : {token: input.token}),
				yes: true,
			});
			const collected = collectResults(undefined, result => ({agent: result.agent, status: result.status, reason: result.reason}));
			await (await executePlan(ports, plan, {emit: collected.emit})).outcome;
			answers.set(step.name, collected.results().map(result => ({agent: result.agent, status: result.status === 'ok' ? 'would run' : result.status, ...(result.reason ? {reason: result.reason.replace(/^dry run: would run \((.*)\)$/s, '$1')} : {})})));
		} catch (error) {
			if (!(error instanceof XiError)) {
				throw error;
			}

			answers.set(step.name, planned.targets.map(agent => ({agent, status: 'refused', reason: `${error.message} (${error.code})`})));
		}
	}));
	return answers;
}
