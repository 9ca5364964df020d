import test from 'ava';
import {checkBlastRadius, declaredLimits, type BlastRadiusDecision, type BlastRadiusInput} from '../../source/run/blast-radius.js';
import type {Amount} from '../../source/run/rollout.js';

const count = (value: number): Amount => ({value, percent: false});
const percent = (value: number): Amount => ({value, percent: true});
const base: BlastRadiusInput = {script: 'restart-app', targets: 10, limits: [], parallel: 64, yes: false, interactive: false, dryRun: false};
const go: BlastRadiusDecision = {type: 'go'};
const tooMany = (max: number, where: string, targets: number, batched = '') => ({
	type: 'refuse' as const,
	reason: `restart-app allows at most ${max} ${max === 1 ? 'target' : 'targets'} at once (maxTargets in its allowlist entry on ${where}) and this run has ${targets}${batched}: narrow --on, or roll out with --batch ${max} or less`,
});

const rows: Array<{title: string; input: Partial<BlastRadiusInput>; decision: BlastRadiusDecision}> = [
	{title: 'no limits declared', input: {}, decision: go},
	{title: 'limits on other agents, none here', input: {limits: [{agent: 'web1'}]}, decision: go},
	{title: 'within maxTargets', input: {targets: 3, limits: [{agent: 'web1', maxTargets: 3}]}, decision: go},
	{title: 'one over maxTargets', input: {targets: 4, limits: [{agent: 'web1', maxTargets: 3}]}, decision: tooMany(3, 'agent web1', 4)},
	{title: 'the smallest limit of all targets wins, naming the agents that set it', input: {limits: [{agent: 'web1', maxTargets: 5}, {agent: 'web2', maxTargets: 2}, {agent: 'web3', maxTargets: 2}]}, decision: tooMany(2, 'agents web[2-3]', 10)},
	{title: 'maxTargets 1', input: {targets: 2, limits: [{agent: 'db1', maxTargets: 1}]}, decision: tooMany(1, 'agent db1', 2)},
	{title: 'batched within the limit', input: {batch: count(3), limits: [{agent: 'web1', maxTargets: 3}]}, decision: go},
	{title: 'batched one over the limit', input: {batch: count(4), limits: [{agent: 'web1', maxTargets: 3}]}, decision: tooMany(3, 'agent web1', 10, '; --batch runs 4 at once')},
	{title: 'a percentage batch within the limit (30% of 10)', input: {batch: percent(30), limits: [{agent: 'web1', maxTargets: 3}]}, decision: go},
	{title: 'a percentage batch over the limit (31% of 10 rounds up to 4)', input: {batch: percent(31), limits: [{agent: 'web1', maxTargets: 3}]}, decision: tooMany(3, 'agent web1', 10, '; --batch runs 4 at once')},
	{title: 'a large batch capped by --parallel within the limit', input: {batch: count(50), parallel: 3, limits: [{agent: 'web1', maxTargets: 3}]}, decision: go},
	{title: '--parallel alone is not a batch', input: {parallel: 3, limits: [{agent: 'web1', maxTargets: 3}]}, decision: tooMany(3, 'agent web1', 10)},
	{title: '--yes does not lift maxTargets', input: {yes: true, limits: [{agent: 'web1', maxTargets: 3}]}, decision: tooMany(3, 'agent web1', 10)},
	{title: 'a dry run is refused as the run would be', input: {dryRun: true, limits: [{agent: 'web1', maxTargets: 3}]}, decision: tooMany(3, 'agent web1', 10)},
	{title: 'confirm without --yes and without a terminal', input: {limits: [{agent: 'web1', confirm: true}]}, decision: {type: 'refuse', reason: 'restart-app asks for confirmation (confirm: true in its allowlist entry on agent web1): pass --yes ("yes": true over the REST API) to run it on 10 targets'}},
	{title: 'confirm on one target', input: {targets: 1, limits: [{agent: 'web1', confirm: true}]}, decision: {type: 'refuse', reason: 'restart-app asks for confirmation (confirm: true in its allowlist entry on agent web1): pass --yes ("yes": true over the REST API) to run it on 1 target'}},
	{title: 'confirm with --yes', input: {yes: true, limits: [{agent: 'web1', confirm: true}]}, decision: go},
	{title: 'confirm on a dry run', input: {dryRun: true, limits: [{agent: 'web1', confirm: true}]}, decision: go},
	{title: 'confirm on a terminal: type the number of targets', input: {interactive: true, limits: [{agent: 'web1', confirm: true}, {agent: 'web2', confirm: true}]}, decision: {type: 'ask', question: 'restart-app asks for confirmation (confirm: true on agents web[1-2]). Type 10 (the number of targets) to run it: ', answer: '10'}},
	{title: 'maxTargets is checked before confirm', input: {interactive: true, limits: [{agent: 'web1', confirm: true, maxTargets: 2}]}, decision: tooMany(2, 'agent web1', 10)},
	{title: 'an AI caller cannot confirm, even with yes', input: {aiCaller: true, yes: true, limits: [{agent: 'web1', confirm: true}]}, decision: {type: 'refuse', reason: 'restart-app asks for confirmation (confirm: true in its allowlist entry on agent web1), and an AI caller cannot confirm its own run: a person must run it (xi-exec run --yes), or an operator approve it (the controller\'s approvals policy needs a rule with callers ["ai"] for it)'}},
	{title: 'an AI caller on a terminal is still refused', input: {aiCaller: true, interactive: true, limits: [{agent: 'web1', confirm: true}]}, decision: {type: 'refuse', reason: 'restart-app asks for confirmation (confirm: true in its allowlist entry on agent web1), and an AI caller cannot confirm its own run: a person must run it (xi-exec run --yes), or an operator approve it (the controller\'s approvals policy needs a rule with callers ["ai"] for it)'}},
	{title: 'an AI caller may dry-run a confirm script', input: {aiCaller: true, dryRun: true, limits: [{agent: 'web1', confirm: true}]}, decision: go},
	{title: 'an AI caller is held to maxTargets first', input: {aiCaller: true, limits: [{agent: 'web1', confirm: true, maxTargets: 2}]}, decision: tooMany(2, 'agent web1', 10)},
	{title: 'an AI caller runs a script without confirm', input: {aiCaller: true, limits: [{agent: 'web1', maxTargets: 20}]}, decision: go},
	{title: 'within maxTargets, confirm still asked', input: {targets: 2, limits: [{agent: 'web1', confirm: true, maxTargets: 2}]}, decision: {type: 'refuse', reason: 'restart-app asks for confirmation (confirm: true in its allowlist entry on agent web1): pass --yes ("yes": true over the REST API) to run it on 2 targets'}},
];

for (const row of rows) {
	test(`checkBlastRadius: ${row.title}`, t => {
		t.deepEqual(checkBlastRadius({...base, ...row.input}), row.decision);
	});
}

test('declaredLimits: only the script asked for, only entries that declare something', t => {
	const found = [
		{name: 'web1', scripts: [{name: 'restart-app', maxTargets: 3, confirm: true}, {name: 'other', maxTargets: 1}]},
		{name: 'web2', scripts: [{name: 'restart-app'}]},
		{name: 'web3', scripts: []},
		{name: 'web4', scripts: [{name: 'restart-app', confirm: false, maxTargets: 5}]},
	];
	t.deepEqual(declaredLimits(found, 'restart-app'), [{agent: 'web1', maxTargets: 3, confirm: true}, {agent: 'web4', maxTargets: 5}]);
});
