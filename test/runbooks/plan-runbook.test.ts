import test from 'ava';
import type {Discovered} from '../../source/dispatch/discover.js';
import type {TokenScope} from '../../source/policy/tokens.js';
import type {ScriptDescription} from '../../source/protocol/frames.js';
import type {Runbook} from '../../source/runbooks/model.js';
import {planRunbook, reachableAgents, type PlanCheck} from '../../source/runbooks/plan-runbook.js';
import {agentOf, reachable, runbookOf} from './fixtures.js';

const agent = agentOf;
const agents = [agent('web1', {role: 'web', site: 'london'}), agent('web2', {role: 'web', site: 'london'}), agent('web3', {role: 'web', site: 'paris'}), agent('db1', {role: 'db', site: 'london'})];

const check: ScriptDescription = {name: 'health-check', description: '', timeoutSeconds: 30, args: {type: 'array', maxItems: 0}};
const restart: ScriptDescription = {name: 'restart-web', description: '', timeoutSeconds: 30, args: {type: 'array', prefixItems: [{enum: ['--graceful', '--now'], option: true}], minItems: 1, maxItems: 1, items: false}};
const login: ScriptDescription = {name: 'login', description: '', timeoutSeconds: 30, args: {type: 'array', prefixItems: [{type: 'string'}, {type: 'string', secret: true}], minItems: 2, maxItems: 2, items: false}};
const discovered: Discovered[] = [
	reachable('web1', [check, restart, login]),
	reachable('web2', [check, restart, login]),
	reachable('web3', [check, {...restart, args: {type: 'array', prefixItems: [{const: '--now', option: true}], minItems: 1, maxItems: 1, items: false}}, login]),
	reachable('db1', [check]),
];

const runbook = (text: string): Runbook => runbookOf(text);

const incident = runbook(`parameters:
  site: {schema: {enum: [london, paris]}, default: london}
  mode: {default: --graceful}
  user: {default: ops}
  password: {secret: true}
steps:
  - name: check
    script: health-check
    on: {tags: {role: web, site: {param: site}}}
    onFailure: continue
  - name: restart
    script: restart-web
    on: {failedIn: check}
    args: [{param: mode}]
  - name: recheck
    script: health-check
    on: {failedIn: check}
  - name: login
    script: login
    on: web1
    args: [{param: user}, {param: password}]
`);

test('a good plan: each step with its arguments and hosts; a failedIn step with every host it could get', t => {
	const check = planRunbook(incident, {password: 'pw'}, {agents, discovered});
	if (!check.ok) {
		t.fail(check.problems.join('\n'));
		return;
	}

	t.deepEqual([...check.plan.steps.values()], [
		{name: 'check', script: 'health-check', args: [], secretPositions: [], on: {selector: ['role=web,site=london']}, targets: ['web1', 'web2']},
		{name: 'restart', script: 'restart-web', args: ['--graceful'], secretPositions: [], on: {step: 'check', outcome: 'failed'}, targets: ['web1', 'web2']},
		{name: 'recheck', script: 'health-check', args: [], secretPositions: [], on: {step: 'check', outcome: 'failed'}, targets: ['web1', 'web2']},
		{name: 'login', script: 'login', args: ['ops', 'pw'], secretPositions: [1], on: {selector: ['web1']}, targets: ['web1']},
	]);
	t.deepEqual(check.plan.notes, []);
	t.deepEqual(reachableAgents(incident, check.plan.values, agents).map(one => one.name), ['web1', 'web2']);
});

const scope = (on: string[], scripts = ['*']): TokenScope => ({id: 't1', name: 'contractor', scripts, on, expiresAt: null});

const rows: Array<{title: string; runbook?: Runbook; given: Record<string, unknown>; fleet?: {discovered?: Discovered[]; scope?: TokenScope}; result: PlanCheck}> = [
	{title: 'parameters failing their schema come first, all of them', given: {site: 'rome'}, result: {ok: false, problems: ['parameter site: "rome" must be equal to one of the allowed values ("london", "paris")', 'parameter password has no default: give it with --param password=VALUE']}},
	{
		title: 'arguments no schema accepts, per agent',
		given: {site: 'paris', mode: '--graceful', password: 'pw'},
		result: {ok: false, problems: ['step restart: the arguments are refused by the schema web3 advertises for restart-web: argument #1 must be equal to constant']},
	},
	{
		title: 'a secret in a position the schema does not mark secret',
		given: {password: 'pw'},
		runbook: runbook('parameters:\n  password: {secret: true}\nsteps:\n  - {name: s, script: login, on: web1, args: [{param: password}, x]}\n'),
		result: {ok: false, problems: ['step s: argument #1 carries a secret parameter, but the schema web1 advertises for login does not mark it secret, so its value would be recorded']},
	},
	{
		title: 'unknown hosts, unknown scripts, a selector matching nothing, a bad selector: all at once',
		given: {},
		runbook: runbook(`steps:
  - {name: a, script: health-check, on: [web1, web9, web8]}
  - {name: b, script: restart-web, on: all, args: [--now]}
  - {name: c, script: health-check, on: role=cache}
  - {name: d, script: health-check, on: "web[1-"}
  - {name: e, script: nope, on: web1}
`),
		result: {ok: false, problems: [
			'step a: unknown hosts web9, web8 (not in the registry; `xi-exec agents` lists them)',
			'step b: unknown script restart-web on db1 (not on its allowlist)',
			'step c: on role=cache matches no registered agent',
			'step d: on: selector "web[1-", at position 4: this "[" is never closed',
			'step e: unknown script nope on web1 (not on its allowlist)',
		]},
	},
	{
		title: 'steps out of the token\'s scope',
		given: {password: 'pw'},
		fleet: {scope: scope(['site=london'], ['health-check', 'restart-web'])},
		result: {ok: false, problems: ['step login: token contractor may not run login (it may run health-check, restart-web)'], outOfScope: true},
	},
	{
		title: 'hosts out of the token\'s scope, for a failedIn step too',
		given: {password: 'pw'},
		fleet: {scope: scope(['web1'])},
		result: {ok: false, problems: [
			'step check: token contractor may not reach web2 (its scope is --on web1)',
			'step restart: token contractor may not reach web2 (its scope is --on web1)',
			'step recheck: token contractor may not reach web2 (its scope is --on web1)',
		], outOfScope: true},
	},
	{
		title: 'an agent not answering discovery is a note, not a problem',
		given: {password: 'pw'},
		fleet: {discovered: discovered.map(found => (found.name === 'web2' ? {...found, status: 'unreachable', reason: 'connection refused', scripts: []} : found))},
		result: {ok: true, plan: undefined as never},
	},
];

for (const row of rows) {
	test(`planRunbook: ${row.title}`, t => {
		const result = planRunbook(row.runbook ?? incident, row.given, {agents, discovered: row.fleet?.discovered ?? discovered, ...(row.fleet?.scope ? {scope: row.fleet.scope} : {})});
		if (row.result.ok) {
			t.true(result.ok);
			t.deepEqual(result.ok ? result.plan.notes : [], ['web2 did not answer discovery (connection refused): a step on it will find it unreachable']);
		} else {
			t.deepEqual(result, row.result);
		}
	});
}
