/**
 * Resolving a request's stored plan again, as it would run now, to compare its hash with the one
 * approved: the same script, arguments, selector (or a rerun's hosts), rollout and caller, through
 * the run use case (core/run-plan.ts), with discovery answering what each host's allowlist entry
 * says. The requester's token is not presented (an approver does not hold it): its stored scope
 * is what the hash covers. A plan that no longer resolves at all (every host gone, a limit now
 * exceeded) is a changed plan.
 */
import {openControllerAudit} from '../audit/controller-log.js';
import type {AuditLog} from '../audit/file-log.js';
import {resolvePlan, type PlanPorts, type RunRequest} from '../core/run-plan.js';
import {createClientContext} from '../dispatch/agent-connection.js';
import {describeTargets} from '../dispatch/secret-targets.js';
import {XiError} from '../errors.js';
import {loadControllerCredentials, openControllerRegistry, type ControllerPaths} from '../home.js';
import {revokedSerials} from '../registry/model.js';
import type {RunPlan} from '../run/plan.js';
import type {ResolvePlanHash} from './approvals.js';
import {approvalPlanHash, entriesFor, type DescribedEntries} from './plan-binding.js';

/** Resolves a request into a plan, keeping what discovery said of each host's entry for the script. */
export async function resolveWithEntries(ports: PlanPorts, request: RunRequest): Promise<{plan: RunPlan; entries: DescribedEntries}> {
	let entries: DescribedEntries = new Map();
	const registry = await ports.registry.read();
	const ask = ports.describe ?? describeTargets(ports.context, 64, 5000, revokedSerials(registry));
	const plan = await resolvePlan({...ports, async describe(targets) {
		const found = await ask(targets);
		entries = entriesFor(request.script ?? '', found);
		return found;
	}}, request);
	return {plan, entries};
}

/** The run request that resolves to `plan` again (without its token, whose scope is kept). */
export function requestOf(plan: RunPlan): RunRequest {
	return {
		requestId: plan.requestId,
		script: plan.script,
		args: plan.args,
		on: plan.selector,
		parallel: plan.parallel,
		timeoutSeconds: plan.timeoutSeconds,
		dryRun: plan.dryRun,
		caller: plan.caller,
		...(plan.source === undefined ? {} : {source: plan.source}),
		...(plan.client === undefined ? {} : {client: plan.client}),
		...(plan.rollout ? {rollout: plan.rollout} : {}),
		...(plan.rerunOf ? {rerun: {of: plan.rerunOf, agents: plan.targets.map(target => target.name)}} : {}),
		...(plan.parent ? {parent: plan.parent} : {}),
		// The approvers confirm for it: a `confirm` script is not asked about again.
		yes: true,
	};
}

export function resolvePlanHashWith(ports: PlanPorts): ResolvePlanHash {
	return async request => {
		const stored = request.plan as RunPlan | undefined;
		if (!stored) {
			return 'no stored plan';
		}

		try {
			const {plan, entries} = await resolveWithEntries(ports, requestOf(stored));
			return approvalPlanHash({...plan, ...(stored.token ? {token: stored.token} : {})}, entries);
		} catch (error) {
			if (error instanceof XiError) {
				return `unresolvable (${error.code}: ${error.message})`;
			}

			throw error;
		}
	};
}

/** The same for a face that holds only the controller's home (the CLI, the console). */
export function resolvePlanHashAgain(paths: ControllerPaths): ResolvePlanHash {
	return async request => {
		let audit: AuditLog | undefined;
		try {
			return await resolvePlanHashWith({
				paths,
				registry: openControllerRegistry(paths),
				audit: () => (audit ??= openControllerAudit(paths)),
				context: createClientContext(loadControllerCredentials(paths)),
			})(request);
		} finally {
			await audit?.close();
		}
	};
}

