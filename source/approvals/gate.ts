/**
 * The first step of every run (gated-run.ts): the request resolved into a plan, which runs unless
 * the controller's approvals policy names it. Only the policy file is read here; the approval
 * code (requests, their store, the requirement, the host answers) loads when the policy has rules,
 * so a run on a controller without approvals (and every dry run) does not load it.
 */
import type {PlanPorts, RunRequest} from '../core/run-plan.js';
import {resolvePlan} from '../core/run-plan.js';
import type {RunPlan} from '../run/plan.js';
import {readApprovalPolicy} from './read-policy.js';
import type {ApprovalRequest} from './request.js';

export type GatedPlan = {type: 'run'; plan: RunPlan} | {type: 'wait'; plan: RunPlan; request: ApprovalRequest};

export type GateOptions = {
	/** An AI agent calls (the MCP face): rules naming "ai" apply. */
	ai?: boolean;
};

/** Resolves the request; a plan the approvals policy names waits for approval instead of running. A dry run never waits. */
export async function resolveGated(ports: PlanPorts, request: RunRequest, options: GateOptions = {}): Promise<GatedPlan> {
	const policy = readApprovalPolicy(ports.paths.home);
	if (policy.rules.length === 0 || request.dryRun) {
		return {type: 'run', plan: await resolvePlan(ports, request)};
	}

	const {resolveUnderPolicy} = await import('./gated-run.js');
	return resolveUnderPolicy(ports, request, policy, options);
}
