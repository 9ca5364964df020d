/**
 * What the controller's policy answers for each host of a plan that waits for approval, as the
 * request keeps it and every face shows it: `approval` when some rule of the approvals policy
 * that the plan matched selects the host (its `on` selector matches the host's tags; a rule with
 * no `on` selects every host of the plan: its conditions are the run's, such as `minTargets`),
 * naming those rules; `allowed` when no such rule selects it (the policy alone would let it run:
 * it waits because the plan it is part of does); and whether the host described the script when
 * the plan was made (its entry digest is in the plan; a host that did not, unreachable or without
 * the script, will most likely not run). The token's scope is not a per-host answer here: a plan
 * is only made when the token allows every host.
 *
 * The answers are fixed when the request is opened, like its quorum, and are not part of the
 * plan's hash: the hash is what runs (hosts, addresses, entries, arguments — everything these
 * answers are computed from that changes what runs is already in it), recomputed when the plan is
 * resolved again and checked by the agents and the central endpoint; the answers are why it waits,
 * which a policy edit (another approver named) must not turn into an invalid approval of an
 * unchanged run. Pure.
 */
import {matchesSelector} from '../policy/selector.js';
import {foldNames} from '../run/group-output.js';
import type {ApprovalRule} from './policy.js';
import type {PlanFacts} from './requirement.js';

export type HostAnswer = {
	agent: string;
	answer: 'approval' | 'allowed';
	/** The matched rules that select this host (empty when `allowed`). */
	rules: string[];
	/** Whether the host described the script when the plan was made. */
	described: boolean;
};

/** Hosts that share one answer, in the plan's order, for a line of text or an audit record. */
export type AnswerGroup = {answer: HostAnswer['answer']; rules: string[]; described: boolean; agents: string[]};

/**
 * `matched`: the rules of the approvals policy that the plan matched (approvalRequirement);
 * `entries`: the plan's entry digests by host (null: the host did not describe the script).
 */
export function hostAnswers(matched: readonly ApprovalRule[], plan: Pick<PlanFacts, 'targets'>, entries: Readonly<Record<string, string | null>> | undefined): HostAnswer[] {
	return plan.targets.map(target => {
		const rules = matched.filter(rule => rule.on === undefined || matchesSelector(rule.on.selector, target)).map(rule => rule.name);
		return {agent: target.name, answer: rules.length > 0 ? 'approval' : 'allowed', rules, described: typeof entries?.[target.name] === 'string'};
	});
}

export function groupAnswers(answers: readonly HostAnswer[]): AnswerGroup[] {
	const groups = new Map<string, AnswerGroup>();
	for (const {agent, answer, rules, described} of answers) {
		const key = JSON.stringify([answer, rules, described]);
		const group = groups.get(key) ?? {answer, rules, described, agents: []};
		group.agents.push(agent);
		groups.set(key, group);
	}

	return [...groups.values()];
}

/**
 * One line per group: `approval db[1-2]: rule "production restarts" selects them`,
 * `allowed  web1: no approval rule selects it`, each with `; did not describe SCRIPT...` when so.
 */
export function answerLines(answers: readonly HostAnswer[], script: string): string[] {
	return groupAnswers(answers).map(group => {
		const them = group.agents.length === 1 ? 'it' : 'them';
		const why = group.answer === 'approval'
			? `${group.rules.length === 1 ? 'rule' : 'rules'} ${group.rules.map(rule => JSON.stringify(rule)).join(', ')} ${group.rules.length === 1 ? 'selects' : 'select'} ${them}`
			: `no approval rule selects ${them}`;
		const entry = group.described ? '' : `; ${group.agents.length === 1 ? 'it' : 'they'} did not describe ${script} when the plan was made (unreachable, or not on the allowlist)`;
		return `${group.answer.padEnd(8)} ${foldNames(group.agents)}: ${why}${entry}`;
	});
}
