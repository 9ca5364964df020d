/**
 * Which runs wait for approval: a run needs it when every condition of some rule in the
 * controller's approvals policy holds for its resolved plan (policy.ts). The answer names each
 * matching rule with its approvers and quorum, and the shortest expiry among them. Pure.
 */
import {matchesSelector} from '../policy/selector.js';
import type {Tags} from '../policy/tags.js';
import {globMatches} from './glob.js';
import {tokenMatches, type ApprovalPolicy, type ApprovalRule} from './policy.js';

/** What the decision reads of a resolved plan. */
export type PlanFacts = {
	script: string;
	targets: ReadonlyArray<{name: string; tags: Tags}>;
	/** Some target's allowlist entry declares `confirm`. */
	confirm: boolean;
};

/** Who asks: the token they authenticated with (none from a bare CLI), and whether an AI agent calls (MCP). */
export type Requester = {token: {id: string; name: string} | null; ai: boolean};

export type RequiredRule = {name: string; approvers: string[]; quorum: number};
export type Requirement = {rules: RequiredRule[]; expiresMs: number};

export function approvalRequirement(policy: ApprovalPolicy, plan: PlanFacts, requester: Requester): Requirement | undefined {
	const matching = matchingRules(policy, plan, requester);
	if (matching.length === 0) {
		return undefined;
	}

	return {
		rules: matching.map(rule => ({name: rule.name, approvers: rule.approvers, quorum: rule.quorum})),
		expiresMs: Math.min(...matching.map(rule => rule.expiresMs)),
	};
}

/** The rules whose every condition holds for the plan and its requester (host-answers.ts says which host each selects). */
export function matchingRules(policy: ApprovalPolicy, plan: PlanFacts, requester: Requester): ApprovalRule[] {
	return policy.rules.filter(rule => ruleMatches(rule, plan, requester));
}

function ruleMatches(rule: ApprovalRule, plan: PlanFacts, requester: Requester): boolean {
	return rule.scripts.some(pattern => globMatches(pattern, plan.script))
		&& (rule.on === undefined || plan.targets.some(target => matchesSelector(rule.on!.selector, target)))
		&& (rule.minTargets === undefined || plan.targets.length >= rule.minTargets)
		&& (rule.confirm === undefined || plan.confirm)
		&& callerMatches(rule.callers, requester);
}

function callerMatches(callers: readonly string[], requester: Requester): boolean {
	return callers.includes('*')
		|| (requester.ai && callers.includes('ai'))
		|| (requester.token !== null && tokenMatches(callers, requester.token.name));
}

/** `1 of: token:lead-*` — for several rules, each joined by `; `. */
export function describeNeeds(requirement: Pick<Requirement, 'rules'>): string {
	return requirement.rules.map(rule => `${rule.quorum} of: ${rule.approvers.join(', ')}`).join('; ');
}
