/** The controller policy file's `approvals` section: what it accepts, and each refusal worded, as a table. */
import test from 'ava';
import {parseControllerPolicy, parseDuration} from '../../source/approvals/policy.js';

const rule = {name: 'prod restarts', scripts: ['restart-*'], approvers: ['token:lead-*']};

test('a minimal rule gets its defaults: any caller, a quorum of 1, one hour', t => {
	const parsed = parseControllerPolicy({approvals: {rules: [rule]}});
	t.true(parsed.ok);
	t.like(parsed.ok ? parsed.policy.rules[0] : {}, {name: 'prod restarts', scripts: ['restart-*'], callers: ['*'], approvers: ['token:lead-*'], quorum: 1, expiresMs: 3_600_000});
});

test('every field is read', t => {
	const parsed = parseControllerPolicy({approvals: {rules: [{...rule, on: ['env=production'], minTargets: 5, callers: ['token:contractor-*', 'ai'], confirm: true, quorum: 2, expires: '30m'}]}});
	t.true(parsed.ok);
	const read = parsed.ok ? parsed.policy.rules[0] : undefined;
	t.like(read, {minTargets: 5, callers: ['token:contractor-*', 'ai'], confirm: true, quorum: 2, expiresMs: 1_800_000});
	t.deepEqual(read?.on?.values, ['env=production']);
});

test('no file section at all is no rules; an empty list too', t => {
	t.deepEqual(parseControllerPolicy({}), {ok: true, policy: {rules: []}});
	t.deepEqual(parseControllerPolicy({approvals: {rules: []}}), {ok: true, policy: {rules: []}});
});

const refused: Array<[string, unknown, string]> = [
	['not an object', [], 'the controller policy file is a JSON object'],
	['an unknown top-level key', {approvals: {rules: []}, rules: []}, 'unknown key "rules" in the controller policy file (it takes "approvals")'],
	['approvals without rules', {approvals: {}}, '"approvals" is {"rules": [...]}'],
	['an unknown key in approvals', {approvals: {rules: [], quorum: 2}}, 'unknown key "quorum" in "approvals" (it takes "rules")'],
	['a misspelt condition', {approvals: {rules: [{...rule, script: ['x']}]}}, 'approval rule "prod restarts": unknown key "script" in the rule'],
	['a misspelt approver key', {approvals: {rules: [{name: 'x', scripts: ['*'], approver: ['token:a']}]}}, 'unknown key "approver"'],
	['no name', {approvals: {rules: [{scripts: ['*'], approvers: ['token:a']}]}}, 'approval rule 1: "name" must be a non-empty string'],
	['a rule that is not an object', {approvals: {rules: ['x']}}, 'approval rule 1: a rule must be an object'],
	['no scripts', {approvals: {rules: [{name: 'x', approvers: ['token:a']}]}}, '"scripts" must be a non-empty list'],
	['an empty script list', {approvals: {rules: [{...rule, scripts: []}]}}, '"scripts" must be a non-empty list'],
	['a script glob with a slash', {approvals: {rules: [{...rule, scripts: ['/bin/sh']}]}}, '"scripts" must be a non-empty list'],
	['no approvers', {approvals: {rules: [{name: 'x', scripts: ['*']}]}}, '"approvers" must be a non-empty list of operator tokens'],
	['an approver that is a user name, not a token', {approvals: {rules: [{...rule, approvers: ['alice']}]}}, '"approvers" must be a non-empty list of operator tokens'],
	['"ai" as an approver', {approvals: {rules: [{...rule, approvers: ['ai']}]}}, '"approvers" must be a non-empty list of operator tokens'],
	['"*" as an approver', {approvals: {rules: [{...rule, approvers: ['*']}]}}, '"approvers" must be a non-empty list of operator tokens'],
	['a caller that is a user name', {approvals: {rules: [{...rule, callers: ['alice@ops']}]}}, '"callers" must be a non-empty list of "token:NAME"'],
	['an empty caller list', {approvals: {rules: [{...rule, callers: []}]}}, '"callers" must be a non-empty list'],
	['a malformed selector', {approvals: {rules: [{...rule, on: ['web[5-3]']}]}}, '"on" must be a non-empty list of selectors in the --on grammar ("env=production"): selector "web[5-3]"'],
	['a selector that is a string', {approvals: {rules: [{...rule, on: 'env=production'}]}}, '"on" must be a non-empty list of selectors'],
	['minTargets 0', {approvals: {rules: [{...rule, minTargets: 0}]}}, '"minTargets" must be a whole number of at least 1; got 0'],
	['minTargets 2.5', {approvals: {rules: [{...rule, minTargets: 2.5}]}}, '"minTargets" must be a whole number of at least 1; got 2.5'],
	['confirm false', {approvals: {rules: [{...rule, confirm: false}]}}, '"confirm" is true'],
	['quorum 0', {approvals: {rules: [{...rule, quorum: 0}]}}, '"quorum" must be a whole number from 1 to 10; got 0'],
	['quorum as a string', {approvals: {rules: [{...rule, quorum: '2'}]}}, '"quorum" must be a whole number from 1 to 10; got "2"'],
	['an expiry without a unit', {approvals: {rules: [{...rule, expires: '30'}]}}, '"expires" must be a duration from 1m to 30d'],
	['an expiry beyond 30 days', {approvals: {rules: [{...rule, expires: '31d'}]}}, '"expires" must be a duration from 1m to 30d'],
	['two rules of one name', {approvals: {rules: [rule, rule]}}, 'another rule has that name'],
];

for (const [what, value, problem] of refused) {
	test(`refused: ${what}`, t => {
		const parsed = parseControllerPolicy(value);
		t.false(parsed.ok);
		const problems = parsed.ok ? '' : parsed.problems.join('; ');
		t.true(problems.includes(problem), problems);
	});
}

test('every bad rule is reported, not only the first', t => {
	const parsed = parseControllerPolicy({approvals: {rules: [{...rule, quorum: 0}, {name: 'b', scripts: ['*'], approvers: ['bob']}]}});
	t.is(parsed.ok ? 0 : parsed.problems.length, 2);
});

test('durations: minutes, hours, days, within 1m..30d', t => {
	t.is(parseDuration('1m'), 60_000);
	t.is(parseDuration('12h'), 43_200_000);
	t.is(parseDuration('30d'), 2_592_000_000);
	for (const bad of ['0m', '-1h', '1w', '1.5h', ' 1h', '1h ', 1, null, '99999999d']) {
		t.is(parseDuration(bad), undefined, String(bad));
	}
});
