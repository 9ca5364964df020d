import test from 'ava';
import {argsHash} from '../../source/audit/record.js';
import {agentRequest, makePlan, planDocument, planView, type PlanContent} from '../../source/run/plan.js';

const content: PlanContent = {
	requestId: 'r-1',
	script: 'restart-web',
	args: ['--graceful', 's3cret'],
	shownArgs: ['--graceful', 'sha256:abcd'],
	secretArgs: true,
	selector: ['role=web'],
	targets: [{name: 'web1', address: '10.0.0.1:7441'}, {name: 'web2', address: '10.0.0.2:7441'}],
	parallel: 64,
	timeoutSeconds: 30,
	dryRun: false,
	rollout: {batch: {value: 1, percent: false}, canary: 1},
	caller: 'alice@ops',
	source: '10.1.1.1',
	notes: ['web9 is not registered'],
};

test('the hash is SHA-256 over the canonical plan document, the same whatever order the fields were built in', t => {
	const plan = makePlan(content);
	t.regex(plan.hash, /^[\da-f]{64}$/);
	const reordered = Object.fromEntries(Object.entries(content).reverse()) as PlanContent;
	t.is(makePlan(reordered).hash, plan.hash);
	t.deepEqual(planDocument(content), {
		version: 2,
		script: 'restart-web',
		argsHash: argsHash(['--graceful', 's3cret']),
		targets: [{name: 'web1', address: '10.0.0.1:7441'}, {name: 'web2', address: '10.0.0.2:7441'}],
		parallel: 64,
		timeoutSeconds: 30,
		dryRun: false,
		rollout: {batch: {value: 1, percent: false}, canary: 1},
		caller: 'alice@ops',
		token: null,
		entries: null,
		runbookFile: null,
	});
});

const changes: Array<[string, Partial<PlanContent>]> = [
	['another script', {script: 'restart-db'}],
	['another argument', {args: ['--graceful', 'other']}],
	['the arguments in another order', {args: ['s3cret', '--graceful']}],
	['one host fewer', {targets: [{name: 'web1', address: '10.0.0.1:7441'}]}],
	['the hosts in another order', {targets: [{name: 'web2', address: '10.0.0.2:7441'}, {name: 'web1', address: '10.0.0.1:7441'}]}],
	['a host at another address', {targets: [{name: 'web1', address: '10.0.0.9:7441'}, {name: 'web2', address: '10.0.0.2:7441'}]}],
	['another parallel', {parallel: 8}],
	['another timeout', {timeoutSeconds: 31}],
	['a dry run', {dryRun: true}],
	['another rollout', {rollout: {batch: {value: 2, percent: false}, canary: 1}}],
	['no canary', {rollout: {batch: {value: 1, percent: false}}}],
	['another caller', {caller: 'mallory@ops'}],
	['a token', {token: {id: 't1', name: 'ci', scripts: ['*'], on: ['all'], expiresAt: null}}],
	['the hosts\' allowlist entries known', {entries: {web1: 'a'.repeat(64), web2: 'b'.repeat(64)}}],
	['a runbook file', {runbookFile: {file: 'runbooks/deploy.yaml', sha256: 'c'.repeat(64)}}],
];

test('the hash changes with one host\'s allowlist entry, and with the runbook file', t => {
	const entries = {web1: 'a'.repeat(64), web2: 'b'.repeat(64)};
	t.not(makePlan({...content, entries: {...entries, web2: 'e'.repeat(64)}}).hash, makePlan({...content, entries}).hash);
	t.not(makePlan({...content, entries: {...entries, web2: null}}).hash, makePlan({...content, entries}).hash);
	const step = (runbook: string, sha256: string): Partial<PlanContent> => ({parent: {runbook, step: 'restart'}, runbookFile: {file: 'runbooks/deploy.yaml', sha256}});
	t.not(makePlan({...content, ...step('rb-1', 'd'.repeat(64))}).hash, makePlan({...content, ...step('rb-1', 'c'.repeat(64))}).hash);
	t.is(makePlan({...content, ...step('rb-1', 'c'.repeat(64)), requestId: 'r-2'}).hash, makePlan({...content, ...step('rb-2', 'c'.repeat(64))}).hash, 'which runbook run it is part of is not in it');
});

for (const [title, change] of changes) {
	test(`the hash changes with ${title}`, t => {
		t.not(makePlan({...content, ...change}).hash, makePlan(content).hash);
	});
}

const same: Array<[string, Partial<PlanContent>]> = [
	['another request id', {requestId: 'r-2'}],
	['other notes', {notes: []}],
	['another source', {source: '10.9.9.9'}],
	['a client', {client: 'claude 1.0 over stdio'}],
	['a runbook parent', {parent: {runbook: 'rb-1', step: 'drain'}}],
	['the shown arguments (they follow from the arguments)', {shownArgs: ['x']}],
];

for (const [title, change] of same) {
	test(`the hash is the same with ${title}`, t => {
		t.is(makePlan({...content, ...change}).hash, makePlan(content).hash);
	});
}

test('each host is asked the same request: the plan\'s script, arguments, caller and timeout', t => {
	const plan = makePlan({...content, client: 'cli 1'});
	t.deepEqual(agentRequest(plan), {requestId: 'r-1', script: 'restart-web', args: ['--graceful', 's3cret'], caller: 'alice@ops', timeoutMs: 30_000, dryRun: false, callerSource: '10.1.1.1', client: 'cli 1'});
});

test('the plan as shown keeps secret arguments hidden, also in what each host is asked', t => {
	const view = planView(makePlan(content));
	t.false(JSON.stringify(view).includes('s3cret'));
	t.deepEqual(view.targets, ['web1', 'web2']);
	t.deepEqual(view.asks.map(ask => [ask.agent, ask.address, ask.request.args]), [['web1', '10.0.0.1:7441', ['--graceful', 'sha256:abcd']], ['web2', '10.0.0.2:7441', ['--graceful', 'sha256:abcd']]]);
});
