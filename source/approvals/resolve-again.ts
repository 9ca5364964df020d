/**
 * Resolving a request's stored plan again, as it would run now, to compare its hash with the one
 * approved: the same script, arguments, selector (or a rerun's or a runbook step's hosts), rollout,
 * request id (so the same shuffled order) and caller, through the run use case
 * (core/run-plan.ts), with discovery answering what each host's allowlist entry says now, and a
 * runbook step's file as it is now. The requester's token is not presented (an approver does not
 * hold it): its stored scope is what the hash covers. A plan that no longer resolves at all (every
 * host gone, a limit now exceeded, the runbook file gone) is a changed plan, and so is a stored
 * plan that does not hash to the approved hash.
 */
import {createHash} from 'node:crypto';
import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {openControllerAudit} from '../audit/controller-log.js';
import type {AuditLog} from '../audit/file-log.js';
import {resolvePlan, type PlanPorts, type RunRequest} from '../core/run-plan.js';
import {createClientContext} from '../dispatch/agent-connection.js';
import {describeTargets} from '../dispatch/secret-targets.js';
import {XiError} from '../errors.js';
import {loadControllerCredentials, openControllerRegistry, type ControllerPaths} from '../home.js';
import {revokedSerials} from '../registry/model.js';
import type {RunbookFile, RunPlan} from '../run/plan.js';
import type {ResolvePlanHash} from './approvals.js';
import {entriesFor, planDifferences, reboundHash, storedPlanProblem, type DescribedEntries} from './plan-binding.js';

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

/**
 * The run request that resolves to `plan` again (without its token, whose scope is kept). A
 * runbook step ran on hosts fixed when its runbook was checked: it is resolved on those again (a
 * host unpaired since refuses it), with its runbook file as `runbookNow` says it is now.
 */
export function requestOf(plan: RunPlan, runbookNow?: RunbookFile): RunRequest {
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
		...(runbookNow ? {runbookFile: runbookNow} : {}),
		...(plan.parent ? {
			parent: plan.parent,
			pinned: {agents: plan.targets.map(target => target.name), since: `when runbook run ${plan.parent.runbook} was checked`, remedy: 'ask again'},
		} : {}),
		// The approvers confirm for it: a `confirm` script is not asked about again.
		yes: true,
	};
}

export function resolvePlanHashWith(ports: PlanPorts): ResolvePlanHash {
	return async request => {
		const stored = request.plan as RunPlan | undefined;
		const problem = request.planProblem ?? storedPlanProblem(stored, request.planHash);
		if (problem || !stored) {
			return problem ?? 'the request keeps no plan';
		}

		try {
			const runbookNow = stored.runbookFile ? runbookFileNow(ports.paths, stored.runbookFile.file) : undefined;
			// What the hosts say now, never the description cache: the approved hash is checked against the live entries.
			const plan = await resolvePlan({...ports, descriptions: undefined}, requestOf(stored, runbookNow));
			const hash = reboundHash(stored, plan);
			return hash === request.planHash ? hash : `the plan resolved now (hash ${hash.slice(0, 12)}) differs from the one requested (hash ${request.planHash.slice(0, 12)}): ${planDifferences(stored, plan).join('; ')}`;
		} catch (error) {
			if (error instanceof XiError) {
				return `the plan no longer resolves (${error.code}: ${error.message.replace(/\.$/, '')})`;
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


/** The runbook file as it is now (its bytes hashed as runbooks/runbook-files.ts does); gone or unreadable: the plan no longer resolves. */
function runbookFileNow(paths: ControllerPaths, file: string): RunbookFile {
	if (!/^runbooks\/[a-z0-9][a-z0-9._-]{0,63}\.(?:ya?ml|json)$/.test(file)) {
		throw new XiError('RUNBOOK_UNKNOWN', `${JSON.stringify(file)} is not a runbook file`);
	}

	let bytes: Buffer;
	try {
		bytes = readFileSync(join(paths.home, file));
	} catch (error) {
		throw new XiError('RUNBOOK_UNKNOWN', `${file} cannot be read now (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
	}

	return {file, sha256: createHash('sha256').update(bytes).digest('hex')};
}
