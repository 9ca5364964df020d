/** The dry run's per-agent view: what each status and reason becomes, and the plain table. */
import test from 'ava';
import {createDryRunView} from '../../source/output/dry-run-view.js';
import {dryRunAnswer, dryRunDocument} from '../../source/run/dry-run-document.js';
import {safeJson} from '../../source/output/visible.js';
import {agentResult} from './agent-result.js';

const cases: Array<[string, Parameters<typeof agentResult>[1], {wouldRun: boolean; reason: string}]> = [
	['allowed by a hook', {status: 'ok', exitCode: null, reason: 'dry run: would run (allowed by rule "ops")'}, {wouldRun: true, reason: 'allowed by rule "ops"'}],
	['a hook reason with parentheses', {status: 'ok', exitCode: null, reason: 'dry run: would run (token a (b) may run x)'}, {wouldRun: true, reason: 'token a (b) may run x'}],
	['no hook', {status: 'ok', exitCode: null, reason: 'dry run: would run'}, {wouldRun: true, reason: 'allowlisted; no auth hook configured'}],
	['denied by the hook', {status: 'denied', exitCode: null, reason: 'denied by rule "x"'}, {wouldRun: false, reason: 'denied by rule "x"'}],
	['not on the allowlist', {status: 'denied', exitCode: null, reason: 'script x is not on web1\'s allowlist'}, {wouldRun: false, reason: 'script x is not on web1\'s allowlist'}],
	['unreachable', {status: 'unreachable', exitCode: null, reason: 'connect ECONNREFUSED'}, {wouldRun: false, reason: 'unreachable: connect ECONNREFUSED'}],
	['an error without a reason', {status: 'error', exitCode: null}, {wouldRun: false, reason: 'error'}],
];

for (const [what, changes, expected] of cases) {
	test(`dry run answer: ${what}`, t => {
		t.like(dryRunAnswer(agentResult('web1', changes)), expected);
	});
}

test('the table is sorted by agent, made visible, and ends with the counts and the request', t => {
	let out = '';
	const view = createDryRunView(text => (out += text), {json: false});
	view.onEvent({type: 'run-started', requestId: 'r1', script: 's', args: [], targets: ['db-long-name', 'a']});
	view.onEvent({type: 'agent-finished', result: agentResult('db-long-name', {status: 'denied', reason: 'no\u001b[31m'})});
	view.onEvent({type: 'agent-finished', result: agentResult('a', {reason: 'dry run: would run'})});
	t.is(out, '', 'nothing before every agent has answered');
	view.onEvent({type: 'run-finished', requestId: 'r1'});
	t.is(out, [
		'AGENT         WOULD RUN  REASON',
		'a             yes        allowlisted; no auth hook configured',
		'db-long-name  no         no\\x1b[31m',
		'1 would run, 1 would not (nothing ran)   request r1',
		'',
	].join('\n'));
});

test('--json keeps each host\'s answer, not its result, and prints the document made from the whole results', t => {
	let out = '';
	const view = createDryRunView(text => (out += text), {json: true});
	const results = cases.map(([, changes], index) => agentResult(`web${(index * 7) % 10}`, {...changes, agentHead: {log: 'l', seq: index, hash: 'h', signature: 's'.repeat(90), keyId: 'k'}}));
	view.onEvent({type: 'run-started', requestId: 'r2', script: 's', args: ['x'], targets: results.map(result => result.agent)});
	for (const result of results) {
		view.onEvent({type: 'agent-finished', result});
	}

	view.onEvent({type: 'run-finished', requestId: 'r2'});
	t.is(out, safeJson(dryRunDocument({requestId: 'r2', script: 's', args: ['x']}, results)) + '\n');
});
