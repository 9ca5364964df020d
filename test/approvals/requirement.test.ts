/**
 * Which plans need approval: each condition of a rule, one at a time, and several rules at once;
 * then the controller policy's answer for each host of a plan that waits (host-answers.ts).
 */
import test from 'ava';
import {parseControllerPolicy, type ApprovalPolicy} from '../../source/approvals/policy.js';
import {answerLines, groupAnswers, hostAnswers, type HostAnswer} from '../../source/approvals/host-answers.js';
import {approvalRequirement, describeNeeds, matchingRules, type PlanFacts, type Requester} from '../../source/approvals/requirement.js';

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

const db1 = {name: 'db1', tags: {env: 'production', role: 'db'}};
const db2 = {name: 'db2', tags: {env: 'production', role: 'db'}};
const web1 = {name: 'web1', tags: {env: 'staging', role: 'web'}};
const onDatabases = {name: 'databases', scripts: ['*'], on: ['role=db'], approvers: ['token:dba-*']};
const bigAt3 = {name: 'big runs', scripts: ['*'], minTargets: 3, approvers: ['token:lead-*']};
const described = (...names: string[]) => Object.fromEntries([db1, db2, web1].map(host => [host.name, names.includes(host.name) ? 'd'.repeat(64) : null]));
const all = described('db1', 'db2', 'web1');

type AnswerRow = {title: string; script?: string; rules: unknown[]; targets: PlanFacts['targets']; entries?: Record<string, string | null>; answers: Array<[string, HostAnswer['answer'], string[], boolean?]>; lines: string[]};

const answerRows: AnswerRow[] = [
	{
		title: 'a selector rule: the hosts it selects need approval, the others wait with them',
		rules: [onProduction],
		targets: [db1, web1, db2],
		answers: [['db1', 'approval', ['production']], ['web1', 'allowed', []], ['db2', 'approval', ['production']]],
		lines: ['approval db[1-2]: rule "production" selects them', 'allowed  web1: no approval rule selects it'],
	},
	{
		title: 'a rule without a selector selects every host of the plan',
		rules: [restarts],
		targets: [db1, web1],
		answers: [['db1', 'approval', ['restarts']], ['web1', 'approval', ['restarts']]],
		lines: ['approval db1,web1: rule "restarts" selects them'],
	},
	{
		title: 'a run-wide condition (minTargets) selects every host',
		rules: [bigAt3, onProduction],
		targets: [db1, db2, web1],
		answers: [['db1', 'approval', ['big runs', 'production']], ['db2', 'approval', ['big runs', 'production']], ['web1', 'approval', ['big runs']]],
		lines: ['approval db[1-2]: rules "big runs", "production" select them', 'approval web1: rule "big runs" selects it'],
	},
	{
		title: 'two selector rules: each host names the ones that select it',
		rules: [onProduction, onDatabases],
		targets: [db1, web1],
		answers: [['db1', 'approval', ['production', 'databases']], ['web1', 'allowed', []]],
		lines: ['approval db1: rules "production", "databases" select it', 'allowed  web1: no approval rule selects it'],
	},
	{
		title: 'a rule the plan did not match (its script) names no host',
		script: 'uptime',
		rules: [restarts, onProduction],
		targets: [db1, web1],
		answers: [['db1', 'approval', ['production']], ['web1', 'allowed', []]],
		lines: ['approval db1: rule "production" selects it', 'allowed  web1: no approval rule selects it'],
	},
	{
		title: 'a host that did not describe the script is said so',
		rules: [onProduction],
		targets: [db1, db2, web1],
		entries: described('db1', 'web1'),
		answers: [['db1', 'approval', ['production']], ['db2', 'approval', ['production'], false], ['web1', 'allowed', []]],
		lines: ['approval db1: rule "production" selects it', 'approval db2: rule "production" selects it; it did not describe restart-db when the plan was made (unreachable, or not on the allowlist)', 'allowed  web1: no approval rule selects it'],
	},
	{
		title: 'a plan without entries (a dry plan): no host described it',
		rules: [restarts],
		targets: [web1],
		entries: {},
		answers: [['web1', 'approval', ['restarts'], false]],
		lines: ['approval web1: rule "restarts" selects it; it did not describe restart-db when the plan was made (unreachable, or not on the allowlist)'],
	},
];

for (const row of answerRows) {
	test(`per-host answer: ${row.title}`, t => {
		const facts: PlanFacts = {script: row.script ?? 'restart-db', targets: row.targets, confirm: false};
		const answers = hostAnswers(matchingRules(policy(...row.rules), facts, alice), facts, row.entries ?? all);
		t.deepEqual(answers, row.answers.map(([agent, answer, rules, isDescribed]) => ({agent, answer, rules, described: isDescribed ?? true})));
		t.deepEqual(answerLines(answers, facts.script), row.lines);
		t.deepEqual(groupAnswers(answers).flatMap(group => group.agents).sort(), row.targets.map(target => target.name).sort(), 'every host in one group');
	});
}

test('per-host answer: a request opened before answers were kept shows no policy lines', t => {
	t.deepEqual(answerLines([], 'uptime'), []);
});
