/** Which plans need approval: each condition of a rule, one at a time, and several rules at once. */
import test from 'ava';
import {parseControllerPolicy, type ApprovalPolicy} from '../../source/approvals/policy.js';
import {approvalRequirement, describeNeeds, type PlanFacts, type Requester} from '../../source/approvals/requirement.js';

function policy(...rules: unknown[]): ApprovalPolicy {
	const parsed = parseControllerPolicy({approvals: {rules}});
	if (!parsed.ok) {
		throw new Error(parsed.problems.join('; '));
	}

	return parsed.policy;
}

const prod = {name: 'web01', tags: {env: 'production', role: 'web'}};
const staging = {name: 'stg01', tags: {env: 'staging', role: 'web'}};
const many = Array.from({length: 6}, (_, index) => ({name: `web${index}`, tags: {env: 'staging'}}));
const alice: Requester = {token: {id: 'a1', name: 'alice'}, ai: false};
const contractor: Requester = {token: {id: 'c1', name: 'contractor-acme'}, ai: false};
const ai: Requester = {token: {id: 'm1', name: 'claude'}, ai: true};
const bare: Requester = {token: null, ai: false};
const plan = (script: string, targets: PlanFacts['targets'], confirm = false): PlanFacts => ({script, targets, confirm});

const restarts = {name: 'restarts', scripts: ['restart-*'], approvers: ['token:lead-*']};
const onProduction = {name: 'production', scripts: ['*'], on: ['env=production'], approvers: ['token:lead-*']};
const big = {name: 'big runs', scripts: ['*'], minTargets: 5, approvers: ['token:lead-*'], quorum: 2, expires: '15m'};
const contractors = {name: 'contractors', scripts: ['*'], callers: ['token:contractor-*'], approvers: ['token:lead-*']};
const aiConfirm = {name: 'ai confirm', scripts: ['*'], callers: ['ai'], confirm: true, approvers: ['token:lead-*']};

const cases: Array<[string, unknown[], PlanFacts, Requester, string[]]> = [
	['no rules: nothing waits', [], plan('restart-db', [prod]), alice, []],
	['a script glob matches', [restarts], plan('restart-db', [staging]), alice, ['restarts']],
	['a script glob does not match another script', [restarts], plan('uptime', [prod]), alice, []],
	['a glob is anchored: restart-* does not match db-restart-x', [restarts], plan('db-restart-x', [prod]), alice, []],
	['a selector matches when any target matches', [onProduction], plan('uptime', [staging, prod]), alice, ['production']],
	['a selector no target matches', [onProduction], plan('uptime', [staging]), alice, []],
	['minTargets reached', [big], plan('uptime', many.slice(0, 5)), alice, ['big runs']],
	['minTargets not reached', [big], plan('uptime', many.slice(0, 4)), alice, []],
	['a caller glob matches the token name', [contractors], plan('uptime', [staging]), contractor, ['contractors']],
	['a caller glob does not match another token', [contractors], plan('uptime', [staging]), alice, []],
	['a caller glob never matches a bare CLI caller', [contractors], plan('uptime', [staging]), bare, []],
	['"*" callers include a bare CLI caller (who must then present a token)', [restarts], plan('restart-db', [staging]), bare, ['restarts']],
	['ai + confirm: an AI caller on a confirm script', [aiConfirm], plan('drop-table', [staging], true), ai, ['ai confirm']],
	['ai + confirm: the same script without confirm', [aiConfirm], plan('drop-table', [staging], false), ai, []],
	['ai + confirm: a person on a confirm script', [aiConfirm], plan('drop-table', [staging], true), alice, []],
	['several rules: every matching one is named', [restarts, onProduction, big], plan('restart-db', [prod, ...many]), alice, ['restarts', 'production', 'big runs']],
];

for (const [what, rules, facts, requester, expected] of cases) {
	test(`needs approval? ${what}`, t => {
		const requirement = approvalRequirement(policy(...rules), facts, requester);
		t.deepEqual(requirement?.rules.map(rule => rule.name) ?? [], expected);
	});
}

test('several rules: each keeps its quorum and approvers, and the shortest expiry wins', t => {
	const requirement = approvalRequirement(policy(restarts, big), plan('restart-db', many), alice);
	t.deepEqual(requirement, {rules: [{name: 'restarts', approvers: ['token:lead-*'], quorum: 1}, {name: 'big runs', approvers: ['token:lead-*'], quorum: 2}], expiresMs: 900_000});
	t.is(describeNeeds(requirement!), '1 of: token:lead-*; 2 of: token:lead-*');
});
