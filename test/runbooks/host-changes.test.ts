import test from 'ava';
import {hostChangeNotes, plannedTargets} from '../../source/runbooks/host-changes.js';
import {agentOf, planOf, reachable, runbookOf} from './fixtures.js';

const runbook = runbookOf(`steps:
  - {name: check, script: hello, on: role=web}
  - {name: fix, script: hello, on: {failedIn: check}}
  - {name: spread, script: hello, on: [role=spare, role=backup]}
`);

const fleet = (names: string[]) => ({
	agents: names.map(name => agentOf(name, {role: name.startsWith('web') ? 'web' : 'spare'})),
	discovered: names.map(name => reachable(name, ['hello'])),
});

const rows: Array<{title: string; before: Record<string, string[]>; now: string[]; carried?: string[]; notes: string[]}> = [
	{title: 'the same hosts: nothing to say', before: {check: ['web1', 'web2'], spread: ['spare1']}, now: ['web1', 'web2', 'spare1'], notes: []},
	{
		title: 'a host added and one removed, named',
		before: {check: ['web1', 'web2'], spread: ['spare1']},
		now: ['web1', 'web2', 'spare2'],
		notes: ['step spread: --on role=spare --on role=backup now matches other hosts than when run old-1 was checked (added spare2; removed spare1); it runs on the 1 it matches now'],
	},
	{
		title: 'hosts added to two steps, folded into ranges',
		before: {check: ['web1'], spread: ['spare1']},
		now: ['web1', 'web2', 'web3', 'web4', 'spare1', 'spare2'],
		notes: [
			'step check: --on role=web now matches other hosts than when run old-1 was checked (added web[2-4]); it runs on the 4 it matches now',
			'step spread: --on role=spare --on role=backup now matches other hosts than when run old-1 was checked (added spare2); it runs on the 2 it matches now',
		],
	},
	{title: 'a step carried over is not compared (it does not run again)', before: {check: ['web1'], spread: ['spare1']}, now: ['web1', 'web2', 'spare1'], carried: ['check'], notes: []},
	{title: 'a step that takes its hosts from an earlier step is not compared', before: {check: ['web1'], fix: ['web1'], spread: ['spare1']}, now: ['web1', 'spare1'], notes: []},
	{title: 'a step the old record has no hosts for (an older record) is not compared', before: {check: ['web1']}, now: ['web1', 'spare1', 'spare2'], notes: []},
];

for (const row of rows) {
	test(`hostChangeNotes: ${row.title}`, t => {
		const plan = planOf(runbook, fleet(row.now));
		t.deepEqual(hostChangeNotes(plan, {id: 'old-1', targets: row.before}, new Set(row.carried ?? [])), row.notes);
	});
}

test('plannedTargets: each selector step\'s hosts, as the header records them', t => {
	t.deepEqual(plannedTargets(planOf(runbook, fleet(['web2', 'web1', 'spare1']))), {check: ['web1', 'web2'], spread: ['spare1']});
});
