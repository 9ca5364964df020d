/**
 * A run through two-person approval, the same for every face (CLI, console, REST API, MCP,
 * runbooks): the request is resolved into a plan; when the controller's approvals policy says the
 * plan needs approval, an approval request is opened for exactly that plan (stored with it) and
 * nothing runs. Once approved, the requester claims it (single use, the plan resolved again to the
 * approved hash) and the stored plan — not a new resolution — is what runs, carrying its approval
 * to the agents and into the run's audit record.
 */
import type {PlanPorts, RunRequest} from '../core/run-plan.js';
import {resolvePlan} from '../core/run-plan.js';
import {XiError} from '../errors.js';
import {openTokenStore} from '../policy/token-store.js';
import type {ApprovalClaim} from '../protocol/frames.js';
import type {RunPlan} from '../run/plan.js';
import {authenticateActor, claimApproved, findRequest, requestApproval, waitForDecision, withdrawApproval, type ActionSource, type ApprovalPorts} from './approvals.js';
import {approvalClaim} from './confirm.js';
import {declaresConfirm} from './plan-binding.js';
import type {GatedPlan, GateOptions} from './gate.js';
import type {ApprovalPolicy} from './policy.js';
import {isWithdrawn, type ApprovalRequest} from './request.js';
import {hostAnswers} from './host-answers.js';
import {approvalRequirement, describeNeeds, matchingRules} from './requirement.js';
import {resolvePlanHashWith, resolveWithEntries} from './resolve-again.js';
import {openApprovalStore} from './store.js';

export {resolveGated, type GatedPlan, type GateOptions} from './gate.js';

function approvalPorts(ports: Pick<PlanPorts, 'paths' | 'audit' | 'now'>): ApprovalPorts {
	return {store: openApprovalStore(ports.paths.home, ports.audit()), audit: ports.audit(), now: ports.now ?? (() => new Date())};
}

/** resolveGated's path when the approvals policy has rules (gate.ts loads this module only then). */
export async function resolveUnderPolicy(ports: PlanPorts, request: RunRequest, policy: ApprovalPolicy, options: GateOptions = {}): Promise<GatedPlan> {
	// An AI caller cannot confirm a `confirm` script itself: resolved as if confirmed, it waits for
	// the approvers a rule names, and without such a rule it is resolved again as asked (and refused).
	const ai = options.ai === true || request.aiCaller === true;
	const {plan, entries} = await resolveWithEntries(ports, ai ? {...request, aiCaller: false, yes: true} : request);
	const registry = await ports.registry.read();
	const tags = new Map(registry.agents.map(agent => [agent.name, agent.tags]));
	const requester = {token: plan.token ? {id: plan.token.id, name: plan.token.name} : null, ai};
	const facts = {script: plan.script, targets: plan.targets.map(target => ({name: target.name, tags: tags.get(target.name) ?? {}})), confirm: declaresConfirm(entries)};
	const requirement = approvalRequirement(policy, facts, requester);
	if (!requirement) {
		return {type: 'run', plan: ai && declaresConfirm(entries) ? await resolvePlan(ports, request) : plan};
	}

	if (!requester.token) {
		const reason = `This run needs approval (${describeNeeds(requirement)}, rule ${requirement.rules.map(rule => JSON.stringify(rule.name)).join(', ')}), and approvals act on your own token, not on the account: run it again with XI_EXEC_TOKEN or --token-file.`;
		await ports.audit().append({event: 'run.refused', requestId: plan.requestId, script: plan.script, caller: plan.caller, source: plan.source, code: 'APPROVAL_TOKEN_REQUIRED', reason}).catch(() => undefined);
		throw new XiError('APPROVAL_TOKEN_REQUIRED', reason);
	}

	const opened = await requestApproval(approvalPorts(ports), {
		planHash: plan.hash,
		summary: {
			script: plan.script,
			args: [...plan.shownArgs],
			targets: plan.targets.map(target => target.name),
			details: {
				...(plan.selector.length > 0 ? {selector: plan.selector.join(' ')} : {}),
				...(plan.rollout && Object.keys(plan.rollout).length > 0 ? {rollout: plan.rollout} : {}),
				...(plan.rerunOf ? {rerunOf: plan.rerunOf} : {}),
				...(plan.parent ? {runbook: `${plan.parent.runbook} step ${plan.parent.step}`} : {}),
				timeout: `${plan.timeoutSeconds} s per host, ${plan.parallel} at once`,
			},
			hosts: hostAnswers(matchingRules(policy, facts, requester), facts, plan.entries),
		},
		plan,
		requester: {token: requester.token, caller: plan.caller, ...(plan.source ? {source: plan.source} : {}), ai: requester.ai},
		requirement,
	});
	return {type: 'wait', plan, request: opened};
}

/**
 * Claims an approved request for the requester whose token is presented, and returns the plan as
 * approved with the approval the run carries. Refused (and audited) while pending, when used,
 * closed or expired, for anyone else's token, and when the plan no longer resolves to the
 * approved hash.
 */
export async function claimForRun(ports: PlanPorts, id: string, presentedToken: string | undefined, from: ActionSource = {}): Promise<{plan: RunPlan; approval: ApprovalClaim; request: ApprovalRequest}> {
	const store = openApprovalStore(ports.paths.home, ports.audit());
	const now = ports.now ?? (() => new Date());
	const actor = authenticateActor((await openTokenStore(ports.paths.home).read()).tokens, presentedToken, now());
	const found = findRequest((await store.read()).requests, id);
	const stored = found.plan as RunPlan | undefined;
	const {request, plan} = await claimApproved({store, audit: ports.audit(), now}, found.id, actor, resolvePlanHashWith(ports), stored?.requestId ?? found.runRequestId ?? found.id, from);
	return {plan: plan as RunPlan, approval: approvalClaim(request), request};
}

/** Waits for the request's decision; approved → claimed for the run; otherwise the refusal the state means. */
export async function waitThenClaim(ports: PlanPorts, request: ApprovalRequest, presentedToken: string | undefined, options: {signal?: AbortSignal; intervalMs?: number} = {}): ReturnType<typeof claimForRun> {
	const decided = await waitForDecision(approvalPorts(ports), request.id, options);
	// Not approved: the claim's refusal names what happened (rejected by whom and why, invalidated, expired).
	return claimForRun(ports, decided.id, presentedToken);
}


/**
 * For a caller who comes back for the decision (an MCP tool call): waits up to `timeoutMs` for
 * the request this token made; still pending then → `wait` (ask again); decided → claimed for
 * the run as `claimForRun` (refused with the decision when it was not an approval). Another
 * token's request is unknown to it.
 */
export async function awaitOwnApproval(ports: PlanPorts, id: string, presentedToken: string, options: {timeoutMs: number; signal?: AbortSignal; from?: ActionSource}): Promise<{type: 'wait'; request: ApprovalRequest} | ({type: 'run'} & Awaited<ReturnType<typeof claimForRun>>)> {
	const now = ports.now ?? (() => new Date());
	const actor = authenticateActor((await openTokenStore(ports.paths.home).read()).tokens, presentedToken, now());
	const found = findRequest((await openApprovalStore(ports.paths.home, ports.audit()).read()).requests, id);
	if (found.requester.token.id !== actor.id) {
		throw new XiError('APPROVAL_UNKNOWN', `No approval request ${JSON.stringify(id)} made with this token (${actor.name}); a token waits only for its own requests.`);
	}

	const stop = AbortSignal.any([AbortSignal.timeout(options.timeoutMs), ...(options.signal ? [options.signal] : [])]);
	let decided: ApprovalRequest;
	try {
		decided = await waitForDecision(approvalPorts(ports), found.id, {signal: stop});
	} catch (error) {
		if (!stop.aborted || options.signal?.aborted) {
			throw error;
		}

		return {type: 'wait', request: findRequest((await openApprovalStore(ports.paths.home, ports.audit()).read()).requests, found.id)};
	}

	return {type: 'run', ...await claimForRun(ports, decided.id, presentedToken, options.from)};
}

/**
 * Withdraws a request a run no longer waits for (its runbook run was cancelled): recorded as
 * `approval.withdrawn` by the caller who cancelled; a request already decided is left as it is.
 */
export async function withdrawWaiting(ports: Pick<PlanPorts, 'paths' | 'audit' | 'now'>, id: string, by: {caller: string; source?: string}, reason: string): Promise<ApprovalRequest | undefined> {
	return withdrawApproval(approvalPorts(ports), id, by, reason);
}

/** Whether the request was withdrawn (a resumed run asks again rather than claiming it). */
export async function wasWithdrawn(ports: Pick<PlanPorts, 'paths'>, id: string): Promise<boolean> {
	return isWithdrawn(findRequest((await openApprovalStore(ports.paths.home).read()).requests, id));
}
